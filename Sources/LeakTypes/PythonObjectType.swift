/// A CPython object's type, read from the object's `ob_type`.
///
/// A malloc'ed object starts with ob_refcnt and ob_type (word 1); a GC
/// object has a 16-byte PyGC_Head before that (word 3); 3.11+ objects with
/// a managed dict have two more words before the GC header (word 5).
/// A candidate counts only if it is a type object: its own ob_type is
/// `type` (whose type is itself) or a metatype (whose type is `type`), and
/// its tp_name is a readable dotted identifier.
enum PythonObjectType {
    static let typeWordIndices = [1, 3, 5]
    /// ob_refcnt, ob_type, ob_size, then tp_name.
    static let obTypeOffset: UInt64 = 8
    static let tpNameOffset: UInt64 = 24
    static let longestName = 200

    static func name(typeObject: UInt64, memory: TargetMemory) -> String? {
        guard let metatype = memory.word(at: typeObject + obTypeOffset), BlockTypeNamer.isPlausiblePointer(metatype),
              let metatypeType = memory.word(at: metatype + obTypeOffset)
        else { return nil }
        let isType = metatypeType == metatype
        let isMetatype = !isType && BlockTypeNamer.isPlausiblePointer(metatypeType)
            && memory.word(at: metatypeType + obTypeOffset) == metatypeType
        guard isType || isMetatype,
              let namePointer = memory.word(at: typeObject + tpNameOffset), namePointer >= 0x10000,
              let bytes = memory.cString(at: namePointer, limit: longestName), isDottedIdentifier(bytes)
        else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `list`, `collections.OrderedDict`, `_io.BytesIO`: letters, digits,
    /// `_` and `.`, not starting with a digit or a dot.
    static func isDottedIdentifier(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first), first != UInt8(ascii: ".") else {
            return false
        }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}
