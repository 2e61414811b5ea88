import Foundation
import LeakModel
import LeakProc

/// Reads and decodes snapshot files, turning every failure into one line:
/// the read side of `SnapshotStore`.
public enum SnapshotLoader {
    public static func load(_ path: String) throws -> Snapshot {
        // Read straight into the one array the codec decodes (Data, then a
        // copy as [UInt8], held the file twice at once).
        guard case let .success(bytes) = ProcFiles.readBytes(path) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw CollectorError(isDirectory.boolValue
                    ? "\(path) is a directory; pass a snapshot file inside it"
                    : "cannot read \(path): permission denied or unreadable")
            }
            throw CollectorError("no such snapshot file: \(path)")
        }
        do {
            return try SnapshotCodec.decode(bytes)
        } catch {
            throw CollectorError("\(path): \(error)")
        }
    }

    /// Files as given; a directory stands for its *.swleak files, in name (= time) order.
    public static func expand(_ paths: [String]) throws -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CollectorError("no such snapshot file or directory: \(path)")
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".swleak") }.sorted()
                files += names.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        return files
    }
}
