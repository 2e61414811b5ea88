/// A JSON tree with ordered object keys, rendered compactly. Hand-written so
/// key order is exactly as built and numbers keep all 64 bits.
public enum JSONValue {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    /// Shortest text that reads back to the same Double; NaN and infinities
    /// have no JSON form and become null.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }

    public func render() -> String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(n): out += String(n)
        case let .uint(n): out += String(n)
        case let .double(d):
            if !d.isFinite {
                out += "null"
            } else if d == d.rounded(), d.magnitude < 1e15 {
                out += String(Int64(d))  // "3", not "3.0"
            } else {
                out += String(d)  // "0.25", "1e-05": valid JSON numbers
            }
        case let .string(s): JSONValue.writeString(s, to: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    /// Escapes quotes, backslashes and every control character (RFC 8259 §7).
    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings (keys, names, paths) need no escape: append them whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
