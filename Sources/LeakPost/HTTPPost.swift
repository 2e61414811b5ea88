import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP POST with a deadline, every failure one line of text. It lives
/// in `swiftleak-post`, a process of its own: URLSession brings
/// FoundationNetworking and some thirty libraries (curl, TLS, Kerberos,
/// LDAP), 6 MB resident, which the tracing process should not carry for a
/// push it may never make.
public struct HTTPPost: Sendable {
    /// How the receiver is named in messages (the URL without its path).
    public let base: String
    public let timeoutSeconds: Double

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(base: String, timeoutSeconds: Double) {
        self.base = base
        self.timeoutSeconds = timeoutSeconds
    }

    /// Posts `body` to `address`; returns on a 2xx answer.
    public func post(_ body: [UInt8], to address: String) throws {
        guard let url = URL(string: address) else { throw Failure(description: "'\(address)' is not a valid URL") }
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.httpMethod = "POST"
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request) { data, response, error in
            outcome.set(data: data, response: response as? HTTPURLResponse, error: error)
            done.signal()
        }.resume()
        // URLSession enforces the timeout; the extra second only guards against it never calling back.
        if done.wait(timeout: .now() + timeoutSeconds + 1) == .timedOut {
            throw Failure(description: "\(base) did not answer within \(Self.seconds(timeoutSeconds))")
        }
        let (data, response, error) = outcome.get()
        if let error {
            throw Failure(description: "could not push to \(base): \(Self.describe(error))")
        }
        guard let response else { throw Failure(description: "\(base) gave no HTTP answer") }
        guard (200..<300).contains(response.statusCode) else {
            let text = String(decoding: (data ?? Data()).prefix(200), as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let reason = HTTPURLResponse.localizedString(forStatusCode: response.statusCode)
            throw Failure(description: "\(base) refused the profile: HTTP \(response.statusCode) \(reason)\(text.isEmpty ? "" : ": \(text)")")
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }

    /// URLError's text on Linux is generic; name the common cases.
    static func describe(_ error: Error) -> String {
        guard let urlError = error as? URLError else { return "\(error)" }
        switch urlError.code {
        case .cannotConnectToHost: return "connection refused"
        case .timedOut: return "timed out"
        case .cannotFindHost, .dnsLookupFailed: return "unknown host"
        case .notConnectedToInternet, .networkConnectionLost: return "network unreachable"
        default: return urlError.localizedDescription
        }
    }

    /// The completion handler's results, handed across threads.
    private final class Outcome: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, HTTPURLResponse?, Error?) = (nil, nil, nil)

        func set(data: Data?, response: HTTPURLResponse?, error: Error?) {
            lock.lock(); defer { lock.unlock() }
            value = (data, response, error)
        }

        func get() -> (Data?, HTTPURLResponse?, Error?) {
            lock.lock(); defer { lock.unlock() }
            return value
        }
    }
}
