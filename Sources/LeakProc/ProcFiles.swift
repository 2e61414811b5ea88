#if canImport(Glibc)
import Glibc
#endif

/// Reads files of /proc (and other small files) with plain system calls.
/// /proc reports size 0 for its files, so they are read until EOF rather
/// than by their stat size, which anything trusting that size gets wrong.
public enum ProcFiles {
    /// The whole file as text, or the errno of the failed open or read.
    public static func read(_ path: String) -> Result<String, Errno> {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole file as bytes (cmdline holds NULs), or the errno of the failure.
    public static func readBytes(_ path: String) -> Result<[UInt8], Errno> {
        let fd = retryingInterrupted { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 { return .failure(.current) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = retryingInterrupted { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n < 0 { return .failure(.current) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .success(bytes)
    }

    /// The text, or nil when the file cannot be read (a thread that just exited).
    public static func readIfPresent(_ path: String) -> String? {
        try? read(path).get()
    }

    /// Target of a symlink such as /proc/PID/exe, or nil.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        if n < 0 { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Numeric entries of a directory such as /proc/PID/task, ascending.
    public static func numericEntries(_ path: String) -> [Int32] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var result: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if let value = Int32(name) { result.append(value) }
        }
        return result.sorted()
    }
}
