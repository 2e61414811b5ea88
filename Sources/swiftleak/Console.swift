import Glibc
import LeakProc
import LeakSession

/// Messages for the person running swiftleak go to stderr, one line each,
/// so stdout stays clean for the target's output and for JSON.
enum Console {
    static func note(_ message: String) {
        FileHandleWriter.write("swiftleak: \(message)\n", to: 2)
    }

    static func warning(_ message: String) {
        FileHandleWriter.write("swiftleak: warning: \(message)\n", to: 2)
    }

    /// A tracing session's message.
    @Sendable static func show(_ message: SessionMessage) {
        switch message {
        case let .note(text): note(text)
        case let .warning(text): warning(text)
        }
    }

    /// A report for the person, on stderr (stdout belongs to the target or to JSON).
    static func error(_ text: String) {
        FileHandleWriter.write(text, to: 2)
    }

    static func output(_ text: String) {
        FileHandleWriter.write(text, to: 1)
    }
}

enum FileHandleWriter {
    static func write(_ text: String, to fd: Int32) {
        try? writeAll(fd: fd, Array(text.utf8))
    }
}

/// Standard output as a text stream, written in chunks: a report of a
/// million lines is never one String in memory.
struct StandardOutput: TextOutputStream {
    private var buffer: [UInt8] = []
    private static let chunk = 1 << 16

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.chunk { flush() }
    }

    mutating func flush() {
        try? writeAll(fd: 1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
