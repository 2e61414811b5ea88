#if canImport(Glibc)
import Glibc
#endif

/// What makes a file the same file: its device and inode. Two paths name
/// one file (or one root directory) exactly when their identities match.
public struct FileIdentity: Hashable {
    public var device: UInt64
    public var inode: UInt64

    /// The identity of the file `path` leads to (symlinks followed), or nil
    /// when it cannot be examined.
    public init?(of path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
