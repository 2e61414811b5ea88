import Foundation
import LeakExport
import LeakModel

/// Sends snapshots to Pyroscope as gzipped pprof, one POST each, with a
/// deadline; every failure is one line of text for the caller to show.
public struct ProfilePusher: Sendable {
    public let ingest: PyroscopeIngest
    public let timeoutSeconds: Double

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(ingest: PyroscopeIngest, timeoutSeconds: Double = 10) {
        self.ingest = ingest
        self.timeoutSeconds = timeoutSeconds
    }

    /// Pushes `snapshot`; returns the bytes sent.
    @discardableResult
    public func push(_ snapshot: Snapshot) throws -> Int {
        let body: [UInt8]
        do {
            body = try Gzip.compress(PprofProfile.encode(snapshot))
        } catch {
            throw Failure(description: "could not compress the profile: \(error)")
        }
        let seconds = snapshot.metadata.timeNanoseconds / 1_000_000_000
        try post(body, to: ingest.url(from: seconds, until: seconds))
        return body.count
    }

    /// Hands `body` to `swiftleak-post` (`HTTPPost`), next to this executable.
    func post(_ body: [UInt8], to address: String) throws {
        do {
            try PosterProcess.post(body, to: address, base: ingest.base, timeoutSeconds: timeoutSeconds)
        } catch let failure as PosterProcess.Failure {
            throw Failure(description: failure.description)
        }
    }
}
