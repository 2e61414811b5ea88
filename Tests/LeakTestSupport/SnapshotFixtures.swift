import LeakModel

// Shared by the analysis and report tests: one set of literal frames and
// stacks, so both test the same ground truth.

/// Builds snapshots from literal stacks, deduplicating frames as the
/// collector does.
public func makeSnapshot(_ traces: [(frames: [Frame], size: UInt64, count: UInt64)], pid: Int32 = 4242, sequence: UInt32 = 1) -> Snapshot {
    var frames: [Frame] = []
    var index: [Frame: Int] = [:]
    var stacks: [[Int]] = []
    var sites: [Site] = []
    for trace in traces {
        let stack = trace.frames.map { frame -> Int in
            if let i = index[frame] { return i }
            frames.append(frame)
            index[frame] = frames.count - 1
            return frames.count - 1
        }
        stacks.append(stack)
        sites.append(Site(stack: stacks.count - 1, size: trace.size, count: trace.count))
    }
    let total = traces.reduce(UInt64(0)) { $0 + $1.size }
    let blocks = traces.reduce(UInt64(0)) { $0 + $1.count }
    let metadata = SnapshotMetadata(
        pid: pid, command: ["/app/server", "--port", "8080"],
        timeNanoseconds: 1_714_564_800_123_000_000, startNanoseconds: 1_714_564_700_000_000_000,
        mode: .run, framesDepth: 64, sequence: sequence, isFinal: false,
        currentBytes: total, currentBlocks: blocks, peakBytes: total * 2, peakBlocks: blocks * 2,
        allocations: blocks * 3, frees: blocks * 2, unknownFrees: 7, lostEvents: 0)
    return Snapshot(metadata: metadata, frames: frames, stacks: stacks, sites: sites)
}

/// Named frames of a small fictional server.
public enum F {
    public static let agentMalloc = Frame(function: "malloc", module: "/opt/swiftleak/lib/libswiftleak-agent.so", address: 0x1000)
    public static let slowAlloc = Frame(function: "swift_slowAlloc", module: "/usr/lib/swift/linux/libswiftCore.so", address: 0x2000)
    public static let allocObject = Frame(function: "swift_allocObject", module: "/usr/lib/swift/linux/libswiftCore.so", address: 0x2100)
    public static let strdup = Frame(function: "strdup", module: "/lib/x86_64-linux-gnu/libc.so.6", address: 0x7000)
    public static let cache10 = Frame(function: "makeCache", file: "/src/Cache.swift", line: 10, module: "/app/server", address: 0x4010)
    public static let cache12 = Frame(function: "makeCache", file: "/src/Cache.swift", line: 12, module: "/app/server", address: 0x4020)
    public static let parse = Frame(function: "parse", file: "/src/Parser.swift", line: 40, module: "/app/server", address: 0x5000)
    public static let main = Frame(function: "main", file: "/src/main.swift", line: 5, module: "/app/server", address: 0x6000)
    public static let inflate = Frame(function: "inflate", module: "/lib/libz.so.1", address: 0x8000)
    public static let anonymous = Frame(module: "/lib/libz.so.1", address: 0x8100)
    public static let gone = Frame(function: "gone", file: "/src/Old.swift", line: 7, module: "/app/server", address: 0x9000)
}

/// Six sites: Swift objects from two lines of makeCache, C strings from
/// parse (one through strdup), and zlib frames with and without symbols.
public let fixtureTraces: [(frames: [Frame], size: UInt64, count: UInt64)] = [
    ([F.agentMalloc, F.slowAlloc, F.allocObject, F.cache10, F.main], 1000, 10),
    ([F.agentMalloc, F.slowAlloc, F.allocObject, F.cache12, F.main], 500, 5),
    ([F.agentMalloc, F.parse, F.main], 300, 3),
    ([F.agentMalloc, F.strdup, F.parse, F.main], 200, 2),
    ([F.agentMalloc, F.inflate, F.parse, F.main], 64, 1),
    ([F.agentMalloc, F.anonymous, F.inflate, F.main], 32, 4),
]
