import LeakProc

/// A failure of a tracing session, with one line that tells the user what to do.
public struct CollectorError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// `what` failed with the current errno.
    static func system(_ what: String, errno code: Int32) -> CollectorError {
        CollectorError("\(what): \(errnoDescription(code))")
    }
}
