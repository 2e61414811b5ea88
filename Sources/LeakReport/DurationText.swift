/// Ages and spans as reports print them: "850ms", "3s", "12m", "2h", "3d".
/// Not named `Duration` so it never shadows `Swift.Duration`.
public enum DurationText {
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
