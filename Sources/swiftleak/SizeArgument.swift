/// Byte counts as people write them on a command line: "50MiB", "100MB".
/// Printed sizes are LeakReport's `SizeFormat`.
enum SizeArgument {
    /// Why a size could not be read; the description is one line for the user.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var text: String
        var description: String {
            "invalid size '\(text)'; use a number of bytes with an optional unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 50MiB"
        }
    }

    /// Binary units (powers of 1024) and decimal ones (powers of 1000), by
    /// lowercased suffix. "K"/"M"/"G" alone are binary, as `ulimit` and most
    /// tools read them.
    static let units: [String: UInt64] = [
        "": 1, "b": 1,
        "k": 1 << 10, "kib": 1 << 10, "kb": 1_000,
        "m": 1 << 20, "mib": 1 << 20, "mb": 1_000_000,
        "g": 1 << 30, "gib": 1 << 30, "gb": 1_000_000_000,
        "t": 1 << 40, "tib": 1 << 40, "tb": 1_000_000_000_000,
    ]

    /// "123" (bytes), "512KiB", "50MiB", "2GiB", "100MB" (decimal), "1.5GiB";
    /// case-insensitive, spaces allowed between number and unit.
    @Sendable static func parse(_ text: String) throws -> UInt64 {
        let written = NumberWithUnit(text)
        let number = written.number
        guard !number.isEmpty, let multiplier = units[written.unit] else { throw ParseError(text: text) }
        if let whole = UInt64(number) {
            let (value, overflow) = whole.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw ParseError(text: text) }
            return value
        }
        // Fractions ("1.5GiB") go through Double: exact enough for limits.
        guard let fraction = Double(number), fraction.isFinite else { throw ParseError(text: text) }
        let value = (fraction * Double(multiplier)).rounded()
        guard value < 18_446_744_073_709_551_615.0 else { throw ParseError(text: text) }
        return UInt64(value)
    }
}
