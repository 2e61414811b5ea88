/// Durations as people write them on a command line: "30s", "10m", "2h",
/// "1d", "500ms". Printed ages are LeakReport's `DurationText`.
enum DurationArgument {
    /// Why a duration could not be read; the description is one line for the user.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var text: String
        var description: String {
            "invalid duration '\(text)'; use a number with a unit: ms, s, m, h or d, e.g. 30s or 10m"
        }
    }

    /// Seconds per unit, by lowercased suffix.
    static let units: [String: Double] = [
        "ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400,
    ]

    /// Seconds in "30s", "10m", "2h", "1d", "500ms", "1.5h"; case-insensitive.
    /// A bare number is refused: "10" could mean seconds or minutes.
    @Sendable static func parse(_ text: String) throws -> Double {
        let written = NumberWithUnit(text)
        guard !written.number.isEmpty, let seconds = units[written.unit], let value = Double(written.number), value.isFinite else {
            throw ParseError(text: text)
        }
        return value * seconds
    }
}
