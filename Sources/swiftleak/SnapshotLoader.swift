import Foundation
import LeakModel

/// Reads and decodes snapshot files, turning every failure into one line.
enum SnapshotLoader {
    static func load(_ path: String) throws -> Snapshot {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw Failure(isDirectory.boolValue
                    ? "\(path) is a directory; pass a snapshot file inside it"
                    : "cannot read \(path): permission denied or unreadable")
            }
            throw Failure("no such snapshot file: \(path)")
        }
        do {
            return try SnapshotCodec.decode(Array(data))
        } catch {
            throw Failure("\(path): \(error)")
        }
    }
}
