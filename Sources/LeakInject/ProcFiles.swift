import Glibc

/// Reads small /proc files. /proc reports size 0 for them, so they are read
/// until EOF rather than by stat size; Foundation is not needed for this.
enum ProcFiles {
    /// The whole file as text, or the errno of the failed open/read.
    static func read(_ path: String) -> Result<String, InjectError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(.procUnreadable(path: path, errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.procUnreadable(path: path, errno: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// The text, or nil when the file cannot be read (a thread that just exited).
    static func readIfPresent(_ path: String) -> String? {
        if case .success(let text) = read(path) { return text }
        return nil
    }

    /// Target of a symlink such as /proc/PID/exe, or nil.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        if n < 0 { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Numeric entries of a directory such as /proc/PID/task.
    static func numericEntries(_ path: String) -> [Int32] {
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
