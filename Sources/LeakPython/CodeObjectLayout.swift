/// Where a CPython code object keeps what a frame needs to be named, per
/// minor version. Source: each version's Include/cpython/code.h,
/// Include/cpython/unicodeobject.h and Include/cpython/bytesobject.h
/// (3.11.7, 3.12.1, 3.13.0), measured with offsetof against the installed
/// headers; the agent's frame-walk offsets live in Sources/Agent/python_frames.c.
struct CodeObjectLayout: Sendable {
    var filename: UInt64          // PyCodeObject.co_filename
    var qualname: UInt64          // PyCodeObject.co_qualname
    var linetable: UInt64         // PyCodeObject.co_linetable
    var firstLine: UInt64         // PyCodeObject.co_firstlineno (int)
    var asciiHeader: UInt64       // sizeof(PyASCIIObject): compact ASCII text follows it
    var compactHeader: UInt64     // sizeof(PyCompactUnicodeObject): other compact text follows it

    static let unicodeLength: UInt64 = 16   // PyASCIIObject.length
    static let unicodeState: UInt64 = 32    // PyASCIIObject.state bit field
    static let bytesSize: UInt64 = 16       // PyVarObject.ob_size
    static let bytesData: UInt64 = 32       // PyBytesObject.ob_sval

    static func forMinor(_ minor: Int) -> CodeObjectLayout? {
        switch minor {
        case 11: return CodeObjectLayout(filename: 112, qualname: 128, linetable: 136, firstLine: 72, asciiHeader: 48, compactHeader: 72)
        case 12, 13: return CodeObjectLayout(filename: 112, qualname: 128, linetable: 136, firstLine: 68, asciiHeader: 40, compactHeader: 56)
        default: return nil
        }
    }
}
