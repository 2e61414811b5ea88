// AsyncLeaky: a leak three awaits deep in Swift async code, built -O -g.
// makeRecord, awaited by handleRequest, awaited by serve, awaited by the
// top-level code; each suspends first, so the allocation runs in a resume
// partial function on an executor thread and its callers exist only in the
// task's chain of async contexts. Prints its load address ("base 0x..."),
// leaks `count` records (each a Record and its 700-byte payload), prints
// "leaked N", exits 0. Each call's line carries a SITE marker the test
// looks up.
#if canImport(Glibc)
import Glibc
#endif

final class Record {
    let id: Int
    var payload: [UInt8]

    init(id: Int) {
        self.id = id
        payload = [UInt8](repeating: UInt8(truncatingIfNeeded: id), count: 700)
    }
}

nonisolated(unsafe) var kept: [Record] = []  // one task touches it

@inline(never)
func makeRecord(_ id: Int) async -> Record {
    await Task.yield()
    return Record(id: id)  // SITE makeRecord
}

@inline(never)
func handleRequest(_ id: Int) async {
    let record = await makeRecord(id)  // SITE handleRequest
    kept.append(record)
}

@inline(never)
func serve(_ count: Int) async {
    for id in 0..<count {
        await handleRequest(id)  // SITE serve
    }
}

let count = 300
// The first mapping is the executable's lowest (a PIE sits below the heap).
var maps = [UInt8](repeating: 0, count: 64)
let fd = open("/proc/self/maps", O_RDONLY)
guard fd >= 0, read(fd, &maps, maps.count) > 0 else { exit(1) }
close(fd)
print("base 0x" + String(decoding: maps.prefix { $0 != UInt8(ascii: "-") }, as: UTF8.self))
await serve(count)  // SITE main
print("leaked \(kept.count)")
