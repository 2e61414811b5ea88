import Foundation
import LeakModel

/// Reads and decodes snapshot files, turning every failure into one line:
/// the read side of `SnapshotStore`.
public enum SnapshotLoader {
    public static func load(_ path: String) throws -> Snapshot {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw CollectorError(isDirectory.boolValue
                    ? "\(path) is a directory; pass a snapshot file inside it"
                    : "cannot read \(path): permission denied or unreadable")
            }
            throw CollectorError("no such snapshot file: \(path)")
        }
        do {
            return try SnapshotCodec.decode(Array(data))
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
