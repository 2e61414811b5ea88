import Foundation
import LeakCollector
import LeakModel

/// `run`/`attach --every D --push URL`: each periodic snapshot goes to
/// Pyroscope on a thread of its own, so a slow or dead server never holds up
/// the session; a failure is one warning and tracing goes on. When a push is
/// still under way as the next snapshot comes, that snapshot is not pushed.
public final class PeriodicPush: @unchecked Sendable {
    let target: String
    let service: String?
    let labels: [String]
    let timeoutSeconds: Double
    let warn: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "swiftleak.push")
    private let lock = NSLock()
    private var busy = false

    /// Checks the URL and labels now, so a typo fails before tracing starts.
    /// `service` nil: the traced program's name.
    public init(target: String, service: String?, labels: [String], timeoutSeconds: Double = 10,
                warn: @escaping @Sendable (String) -> Void) throws {
        _ = try PyroscopeIngest(base: target, service: service ?? "placeholder", labels: labels)
        self.target = target
        self.service = service
        self.labels = labels
        self.timeoutSeconds = timeoutSeconds
        self.warn = warn
    }

    /// Called after each periodic snapshot is written.
    public func snapshotWritten(_ path: String) {
        let skipped: Bool = lock.withLock {
            if busy { return true }
            busy = true
            return false
        }
        if skipped {
            warn("the previous push to \(target) is still running; \(path) is not pushed")
            return
        }
        queue.async { [self] in
            defer { lock.withLock { busy = false } }
            do {
                let snapshot = try SnapshotLoader.load(path)
                let ingest = try PyroscopeIngest(base: target, service: service ?? snapshot.programName, labels: labels)
                try ProfilePusher(ingest: ingest, timeoutSeconds: timeoutSeconds).push(snapshot)
            } catch {
                warn("push failed, tracing goes on: \(error)")
            }
        }
    }
}
