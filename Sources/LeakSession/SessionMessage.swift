/// A line for the person running swiftleak. The sessions word their
/// messages; the front end decides where they go (the CLI: stderr).
public enum SessionMessage: Equatable, Sendable {
    case note(String)
    case warning(String)
}

/// Where a session sends its messages; called from the session's threads.
public typealias SessionReporter = @Sendable (SessionMessage) -> Void
