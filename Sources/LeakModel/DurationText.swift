/// Durations as people write them on a command line ("30s", "10m", "2h",
/// "1d", "500ms") and as reports print ages ("3s", "12m", "2h"). Not named
/// `Duration` so it never shadows `Swift.Duration`.
public enum DurationText {
    /// Why a duration could not be read; the description is one line for the user.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var text: String
        public var description: String {
            "invalid duration '\(text)'; use a number with a unit: ms, s, m, h or d, e.g. 30s or 10m"
        }
    }

    /// Seconds per unit, by lowercased suffix.
    static let units: [String: Double] = [
        "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400,
    ]

    /// Seconds in "30s", "10m", "2h", "1d", "500ms", "1.5h"; case-insensitive.
    /// A bare number is refused: "10" could mean seconds or minutes.
    public static func parse(_ text: String) throws -> Double {
        let trimmed = text.trimmingSpaces().lowercased()
        let number = trimmed.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingSpaces()
        guard !number.isEmpty, let seconds = units[String(unit)], let value = Double(number), value.isFinite else {
            throw ParseError(text: text)
        }
        return value * seconds
    }

    /// The largest whole unit that fits: "850ms", "3s", "12m", "2h", "3d".
    /// Truncates (a 59 s old block is "59s", not "1m"): ages are lower bounds.
    public static func human(seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0s" }
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        let whole = UInt64(min(seconds, 1e15))
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" }
        if whole < 86400 { return "\(whole / 3600)h" }
        return "\(whole / 86400)d"
    }
}
