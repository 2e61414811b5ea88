#if canImport(Glibc)
import Glibc
#endif

/// A failed system call's errno, captured before anything else can change it.
public struct Errno: Error, Equatable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) {
        self.code = code
    }

    /// The errno the last failed call of this thread left.
    public static var current: Errno { Errno(errno) }

    public var description: String { errnoDescription(code) }
}

/// "No such file or directory (errno 2)": the text for the person, the
/// number for searching. Every message that quotes an errno says it this way.
public func errnoDescription(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}
