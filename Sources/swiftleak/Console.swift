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
    private let buffer = ChunkBuffer(capacity: 1 << 16)

    mutating func write(_ text: String) {
        // Each text's bytes in one copy, with no uniqueness check or
        // reference count on the way: Array's append of a String's UTF-8
        // view went byte by byte. (A 1 GB JSON report is millions of writes.)
        if let done = text.utf8.withContiguousStorageIfAvailable({ buffer.append(UnsafeRawBufferPointer($0)) }) { return done }
        var copy = text
        copy.withUTF8 { buffer.append(UnsafeRawBufferPointer($0)) }
    }

    func flush() {
        buffer.flush()
    }
}

/// StandardOutput's bytes not yet written: one allocation, written out
/// when the next text does not fit, and on flush.
private final class ChunkBuffer {
    private let bytes: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    init(capacity: Int) {
        self.capacity = capacity
        bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { bytes.deallocate() }

    func append(_ text: UnsafeRawBufferPointer) {
        guard let from = text.baseAddress else { return }
        if text.count > capacity - used {
            flush()
            if text.count > capacity {
                try? writeAll(fd: 1, text)
                return
            }
        }
        (bytes + used).copyMemory(from: from, byteCount: text.count)
        used += text.count
    }

    func flush() {
        try? writeAll(fd: 1, UnsafeRawBufferPointer(start: bytes, count: used))
        used = 0
    }
}
