/// UTC calendar time from Unix nanoseconds, without Foundation: the one
/// time formatter of every output, snapshot file names included.
public enum TimeFormat {
    struct Civil {
        var year: Int64, month: Int64, day: Int64
        var hour: Int64, minute: Int64, second: Int64, millisecond: Int64
    }

    static func civil(_ nanoseconds: UInt64) -> Civil {
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let millisecond = Int64(nanoseconds % 1_000_000_000 / 1_000_000)
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        // Days since 1970-01-01 to a proleptic Gregorian date, counting in
        // 400-year eras that start on March 1st so leap days fall last.
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return Civil(year: year, month: month, day: day,
                     hour: secondOfDay / 3600, minute: secondOfDay % 3600 / 60, second: secondOfDay % 60,
                     millisecond: millisecond)
    }

    /// "2024-05-01T12:00:00.123Z"
    public static func iso8601(_ nanoseconds: UInt64) -> String {
        let c = civil(nanoseconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    /// "2024-05-01 12:00:00 UTC", for text reports.
    public static func readable(_ nanoseconds: UInt64) -> String {
        let c = civil(nanoseconds)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) UTC"
    }

    /// "20240501T120000.123Z" (ISO 8601's basic format): sorts as text, fits a file name.
    public static func compact(_ nanoseconds: UInt64) -> String {
        let c = civil(nanoseconds)
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2)).\(pad(c.millisecond, 3))Z"
    }

    private static func pad(_ n: Int64, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
