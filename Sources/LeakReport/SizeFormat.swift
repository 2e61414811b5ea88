import LeakModel

/// Byte counts for people: "512 B", "1.5 KiB", "12.0 MiB" (binary units,
/// one decimal above bytes).
public enum SizeFormat {
    /// The one implementation lives in LeakModel, which gate messages need.
    public static func human(_ bytes: UInt64) -> String {
        ByteSize.human(bytes)
    }

    /// With an explicit sign, as diffs are shown: "+1.5 KiB", "-512 B", "+0 B".
    public static func human(signed delta: Int64) -> String {
        (delta < 0 ? "-" : "+") + human(delta.magnitude)
    }
}
