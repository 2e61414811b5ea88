// InlineSwift: leaks through code that -O inlines, including the standard
// library's, so the symbolizer must expand inline levels and give
// compiler-generated levels their caller's line. Prints the load address of
// its executable ("base 0x..."), leaks, prints "leaked N", exits 0.
//   - each Session's buffer, [UInt8](repeating:count:), filled in Session.init;
//   - each Session itself, made in makeSession, inlined into open;
//   - an array of tags grown in addTags, inlined into open.
// Each site's line carries a SITE marker the test looks up.
#if canImport(Glibc)
import Glibc
#endif

final class Session {
    let id: Int
    var buffer: [UInt8]

    init(id: Int) {
        self.id = id
        buffer = [UInt8](repeating: UInt8(truncatingIfNeeded: id), count: 512)  // SITE buffer
    }
}

var sessions: [Session] = []
var tags: [[Int]] = []

@inline(__always)
func makeSession(_ id: Int) -> Session {
    return Session(id: id)  // SITE makeSession
}

@inline(__always)
func addTags(_ id: Int) {
    tags.append(Array(repeating: id, count: 16))  // SITE addTags
}

@inline(never)
func open(_ id: Int) {
    sessions.append(makeSession(id))  // SITE open makeSession
    addTags(id)  // SITE open addTags
}

/// The lowest mapping of this executable: its load address (a PIE's first segment is at 0).
func executableBase() -> String? {
    guard let maps = fopen("/proc/self/maps", "r") else { return nil }
    defer { fclose(maps) }
    var exe = [CChar](repeating: 0, count: 4096)
    guard readlink("/proc/self/exe", &exe, exe.count - 1) > 0 else { return nil }
    let path = String(cString: exe)
    var line = [CChar](repeating: 0, count: 8192)
    while fgets(&line, Int32(line.count), maps) != nil {
        var text = String(cString: line)
        if text.hasSuffix("\n") { text.removeLast() }
        if text.hasSuffix(" " + path) { return String(text.prefix { $0 != "-" }) }
    }
    return nil
}

guard let base = executableBase() else { exit(1) }
print("base 0x\(base)")
let units = 2000
sessions.reserveCapacity(units)
tags.reserveCapacity(units)
for id in 0..<units { open(id) }  // SITE main
print("leaked \(units)")
