/// A number and the unit written after it, as sizes ("50MiB", "1.5 GiB")
/// and durations ("30s", "500ms") are written: case-insensitive, spaces
/// allowed around and between them.
struct NumberWithUnit {
    /// The digits and dots, unchecked.
    let number: Substring
    /// The lowercased rest.
    let unit: String

    init(_ text: String) {
        let trimmed = Self.trimmingSpaces(Substring(text.lowercased()))
        number = trimmed.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
        unit = String(Self.trimmingSpaces(trimmed.dropFirst(number.count)))
    }

    private static func trimmingSpaces(_ s: Substring) -> Substring {
        guard let first = s.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return s[s.endIndex...] }
        let last = s.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return s[first...last]
    }
}
