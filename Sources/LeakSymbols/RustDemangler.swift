/// Rust symbol names, in the form rustc's own tools print with `{:#}`:
/// `rust_sessions::open_session`, never the hash that keeps the linker's
/// names unique. Rust has used two manglings:
///
/// - legacy, still rustc's default for a program's own code: Itanium-shaped
///   (`_ZN` length-prefixed segments `E`) with a last segment `h` + 16 hex
///   digits, and `$LT$`-style escapes for the characters Itanium names
///   cannot hold. libstdc++'s demangler reads the shape but leaves the
///   escapes and the hash, so these symbols are recognised first.
/// - v0 (`_R`, RFC 2603), which the standard library is built with: see
///   `RustV0Demangler`.
enum RustDemangler {
    /// The demangled name of a Rust symbol of either mangling, or nil when
    /// `symbol` is not one (a C++ or C name).
    static func demangle(_ symbol: String) -> String? {
        if symbol.hasPrefix("_R") { return RustV0Demangler.demangle(symbol) }
        return demangleLegacy(symbol)
    }

    /// A v0 symbol, or an Itanium-shaped one ending in a Rust hash segment.
    static func isRust(_ symbol: String) -> Bool {
        symbol.hasPrefix("_R") || legacySegments(Array(symbol.utf8)) != nil
    }

    // MARK: legacy

    /// `_ZN` {segment} `E` with a final `17h<16 hex>` segment, then an
    /// optional `.suffix`: the segments joined with `::`, escapes decoded,
    /// the hash and the suffix (`.llvm.<n>`, `.cold`: a part or a copy of
    /// the same function) dropped.
    static func demangleLegacy(_ symbol: String) -> String? {
        let bytes = Array(symbol.utf8)
        guard let segments = legacySegments(bytes) else { return nil }
        var output: [UInt8] = []
        for (index, segment) in segments.dropLast().enumerated() {
            if index > 0 { output += Array("::".utf8) }
            output += unescaped(bytes[segment])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The byte ranges of the segments (the hash last), or nil when the
    /// symbol is not a legacy Rust one.
    private static func legacySegments(_ bytes: [UInt8]) -> [Range<Int>]? {
        var position: Int
        if bytes.starts(with: Array("_ZN".utf8)) {
            position = 3
        } else if bytes.starts(with: Array("__ZN".utf8)) {
            position = 4
        } else {
            return nil
        }
        var segments: [Range<Int>] = []
        while position < bytes.count, bytes[position] != UInt8(ascii: "E") {
            var length = 0
            while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
                length = length * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                guard length <= bytes.count else { return nil }
                position += 1
            }
            guard length > 0, position + length <= bytes.count else { return nil }
            segments.append(position..<(position + length))
            position += length
        }
        guard position < bytes.count, let hash = segments.last, segments.count >= 2, isHash(bytes[hash]) else { return nil }
        position += 1  // the `E`
        guard position == bytes.count || bytes[position] == UInt8(ascii: ".") else { return nil }
        return segments
    }

    /// `h` and 16 lowercase hex digits.
    private static func isHash(_ segment: ArraySlice<UInt8>) -> Bool {
        segment.count == 17 && segment.first == UInt8(ascii: "h")
            && segment.dropFirst().allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// The escapes legacy mangling uses for characters outside Itanium
    /// identifiers: `..` is `::`, `$LT$` `<`, `$GT$` `>`, `$RF$` `&`,
    /// `$BP$` `*`, `$SP$` `@`, `$LP$` `(`, `$RP$` `)`, `$C$` `,`, `$u7b$`
    /// any character by its hex code; a segment that would start with `$`
    /// is written `_$`. An escape it does not know is left as it is.
    private static func unescaped(_ segment: ArraySlice<UInt8>) -> [UInt8] {
        var rest = segment
        if rest.starts(with: Array("_$".utf8)) { rest = rest.dropFirst() }
        var output: [UInt8] = []
        while let byte = rest.first {
            if byte == UInt8(ascii: "."), rest.dropFirst().first == UInt8(ascii: ".") {
                output += Array("::".utf8)
                rest = rest.dropFirst(2)
            } else if byte == UInt8(ascii: "$"), let close = rest.dropFirst().firstIndex(of: UInt8(ascii: "$")),
                      let replacement = escape(rest[(rest.startIndex + 1)..<close]) {
                output += replacement
                rest = rest[(close + 1)...]
            } else {
                output.append(byte)
                rest = rest.dropFirst()
            }
        }
        return output
    }

    private static func escape(_ code: ArraySlice<UInt8>) -> [UInt8]? {
        switch String(decoding: code, as: UTF8.self) {
        case "SP": return Array("@".utf8)
        case "BP": return Array("*".utf8)
        case "RF": return Array("&".utf8)
        case "LT": return Array("<".utf8)
        case "GT": return Array(">".utf8)
        case "LP": return Array("(".utf8)
        case "RP": return Array(")".utf8)
        case "C": return Array(",".utf8)
        case let text where text.hasPrefix("u"):
            guard text.count > 1, text.count <= 7, let value = UInt32(text.dropFirst(), radix: 16),
                  let scalar = Unicode.Scalar(value) else { return nil }
            return Array(String(Character(scalar)).utf8)
        default:
            return nil
        }
    }
}
