// RetainCycles: a long-running Swift program that leaks retain cycles, next
// to a bounded cache that does not leak, for the leak-hunting tests.
// It prints "ready", then reads commands from stdin:
//   "call N"  N calls of leakCycle(_:) (a non-inlined function) and of
//             cachePut(_:); prints "done N"
//   "quit"    prints "leaked <calls> cycles" and exits 0
// Ground truth, per call:
//   - leakCycle leaks exactly 3 blocks: an Owner and a Partner instance that
//     reference each other (a retain cycle ARC never frees), and the buffer
//     of the Owner's [UInt8] of `bufferBytes` bytes;
//   - cachePut puts one CacheEntry (an object and its [UInt8] payload) into
//     a cache capped at `cacheCapacity` entries, evicting the oldest: once it
//     is full (after `cacheCapacity` calls) its live blocks no longer change.
#if canImport(Glibc)
import Glibc
#endif

let bufferBytes = 256
let cacheCapacity = 32

final class Owner {
    var partner: Partner?
    var buffer: [UInt8]
    init(bytes: Int) { buffer = [UInt8](repeating: 0x5a, count: bytes) }
}

final class Partner {
    var owner: Owner?
}

@inline(never)
func leakCycle(_ index: Int) {
    let owner = Owner(bytes: bufferBytes)
    let partner = Partner()
    owner.partner = partner
    partner.owner = owner  // the cycle: both stay alive after this returns
}

final class CacheEntry {
    let key: Int
    var payload: [UInt8]
    init(key: Int) {
        self.key = key
        payload = [UInt8](repeating: UInt8(truncatingIfNeeded: key), count: 64)
    }
}

/// An LRU-ish cache: a dictionary of at most `cacheCapacity` entries and a
/// ring of their keys in insertion order; the oldest goes first.
struct BoundedCache {
    private var entries: [Int: CacheEntry] = Dictionary(minimumCapacity: cacheCapacity)
    private var ring = [Int](repeating: -1, count: cacheCapacity)
    private var next = 0

    @inline(never)
    mutating func put(_ key: Int) {
        let old = ring[next]
        if old >= 0 { entries.removeValue(forKey: old) }
        ring[next] = key
        next = (next + 1) % cacheCapacity
        entries[key] = CacheEntry(key: key)
    }

    var count: Int { entries.count }
}

var cache = BoundedCache()
var calls = 0

@inline(never)
func cachePut(_ key: Int) {
    cache.put(key)
}

@inline(never)
func handle(calls count: Int) {
    for _ in 0..<count {
        leakCycle(calls)
        cachePut(calls)
        calls += 1
    }
}

/// Zeroes the stack below the caller's frame, where leakCycle kept its
/// pointers: a conservative scan (`swiftleak leaks`) would otherwise find a
/// stale copy in the frames readLine reuses there and hold the last cycle
/// reachable. 16 frames of 1 KiB, each small enough to stay on the stack.
@inline(never)
func scrubStack(_ depth: Int = 16) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1000) { area in
        area.initialize(repeating: 0)
        if depth > 1 { scrubStack(depth - 1) }
    }
}

setvbuf(stdout, nil, _IOLBF, 0)
print("ready")
while let line = readLine() {
    let words = line.split(separator: " ")
    if words.first == "call", words.count == 2, let count = Int(words[1]) {
        handle(calls: count)
        scrubStack()
        print("done \(count)")
    } else if words.first == "quit" {
        break
    }
}
print("leaked \(calls) cycles")
