/// One line of /proc/PID/maps: "start-end perms offset dev inode   path".
///
/// The one parser of that format, shared by the injector (where is the
/// target's libc?) and the symbolizer (which modules, where?).
public struct MapsLine: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var permissions: String
    public var offset: UInt64
    public var inode: UInt64
    /// The path exactly as the kernel prints it (" (deleted)" included), as
    /// seen inside the process's mount namespace; "" for anonymous memory.
    public var path: String

    public init?(_ line: Substring) {
        // Five space-separated fields, then the path padded with spaces; the
        // path itself may contain spaces.
        var fields: [Substring] = []
        var rest = line[...]
        for _ in 0..<5 {
            rest = rest.drop(while: { $0 == " " })
            guard !rest.isEmpty else { return nil }
            let space = rest.firstIndex(of: " ") ?? rest.endIndex
            fields.append(rest[..<space])
            rest = rest[space...]
        }
        let range = fields[0].split(separator: "-")
        guard range.count == 2,
              let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
              let offset = UInt64(fields[2], radix: 16), let inode = UInt64(fields[4]) else { return nil }
        self.start = start
        self.end = end
        self.permissions = String(fields[1])
        self.offset = offset
        self.inode = inode
        var path = rest.drop(while: { $0 == " " })
        while path.last == " " || path.last == "\n" { path = path.dropLast() }
        self.path = String(path)
    }

    /// The path without the " (deleted)" the kernel appends for replaced files.
    public var livePath: String {
        path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    /// Every parsable line of a maps file.
    public static func parse(_ text: String) -> [MapsLine] {
        text.split(separator: "\n").compactMap(MapsLine.init)
    }
}
