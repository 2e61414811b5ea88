/// Byte counts for people: "512 B", "1.5 KiB", "12.0 MiB" (binary units,
/// one decimal above bytes). The one size formatter of every output.
public enum SizeFormat {
    static let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]

    public static func human(_ bytes: UInt64) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        var unit = 1
        var divisor: Double = 1024
        while unit < units.count - 1, Double(bytes) >= divisor * 1024 {
            unit += 1
            divisor *= 1024
        }
        var tenths = (Double(bytes) * 10 / divisor).rounded()
        // 1048575 bytes rounds to "1024.0 KiB": say "1.0 MiB" instead.
        if tenths >= 10240, unit < units.count - 1 {
            unit += 1
            tenths = (tenths / 1024).rounded()
        }
        let t = UInt64(tenths)
        return "\(t / 10).\(t % 10) \(units[unit])"
    }

    /// With an explicit sign, as diffs are shown: "+1.5 KiB", "-512 B", "+0 B".
    public static func human(signed delta: Int64) -> String {
        (delta < 0 ? "-" : "+") + human(delta.magnitude)
    }
}
