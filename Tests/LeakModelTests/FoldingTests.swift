import XCTest
import LeakModel

final class FoldingTests: XCTestCase {
    func testSwiftObjectStackFoldsToUserFrame() {
        let user = Frame(function: "$s6server9makeCacheyyF", file: "/src/Cache.swift", line: 3, module: "/app/server", address: 0x42)
        let stack = [
            Frame(function: "malloc", module: "/lib/x86_64-linux-gnu/libc.so.6", address: 1),
            F.slowAlloc, F.allocObject, user, F.main,
        ]
        XCTAssertEqual(AllocatorFrames.fold(stack), [user, F.main])
        XCTAssertEqual(AllocatorFrames.fold([user, F.main]), [user, F.main])
    }

    func testRawKeepsAllocatorFrames() {
        let snapshot = makeSnapshot([([F.agentMalloc, F.slowAlloc, F.allocObject, F.cache10], 48, 1)])
        let folded = Statistics.compute(snapshot, groupBy: .traceback, options: AnalysisOptions())
        XCTAssertEqual(folded.map(\.traceback), [[F.cache10]])
        let raw = Statistics.compute(snapshot, groupBy: .traceback, options: AnalysisOptions(raw: true))
        XCTAssertEqual(raw.map(\.traceback), [[F.agentMalloc, F.slowAlloc, F.allocObject, F.cache10]])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .function, options: AnalysisOptions(raw: true)).first?.traceback, [F.agentMalloc])
    }

    func testAllocatorNames() {
        func isAllocator(_ name: String, module: String? = nil) -> Bool {
            AllocatorFrames.isAllocator(Frame(function: name, module: module, address: 1))
        }
        for name in ["malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
                     "valloc", "pvalloc", "free", "__libc_malloc", "__libc_calloc", "__GI___libc_malloc",
                     "malloc@plt", "malloc@@GLIBC_2.2.5", "strdup", "__strdup", "strndup", "asprintf", "vasprintf",
                     "getline", "getdelim", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnwmSt11align_val_t",
                     "_ZnamSt11align_val_tRKSt9nothrow_t", "operator new(unsigned long)", "operator new[](unsigned long)",
                     "operator new(unsigned long, std::nothrow_t const&)", "swift_allocObject", "swift_slowAlloc",
                     "swift::swift_slowAlloc(unsigned long, unsigned long)", "swift_allocBox", "swift_allocEmptyBox",
                     "_ZN5swift15swift_slowAllocEmm", "_ZL19_swift_allocObject_PKN5swift12TargetHeapMetadataINS_9InProcessEEEmm",
                     // A class's allocating initializer, mangled and demangled.
                     "$s4main5CacheCACycfC", "$s10SwiftLeaky7SessionC2idACSi_tcfC", "SwiftLeaky.Session.__allocating_init(id: Swift.Int) -> SwiftLeaky.Session"] {
            XCTAssertTrue(isAllocator(name), name)
        }
        for name in ["main", "__libc_start_main", "__libc_start_call_main", "swift_initStackObject", "_ZdlPv",
                     "operator delete(void*)", "mallocate", "my_malloc", "_ZN5swift9Demangler4initEv", "_ZL99x", "_ZN5swift", "$s4main5CacheCACycfc", "$s4main5CacheC3getyyF", "_ZN3foo3barEv"] {
            XCTAssertFalse(isAllocator(name), name)
        }
        // Anything in the agent is the profiler's own code.
        XCTAssertTrue(isAllocator("hook_entry", module: "/opt/swiftleak/lib/libswiftleak-agent.so"))
        XCTAssertTrue(isAllocator("x", module: "libswiftleak-agent.so.1"))
        XCTAssertTrue(AllocatorFrames.isAllocator(Frame(module: "/tmp/libswiftleak-agent.so", address: 9)))
        XCTAssertFalse(isAllocator("x", module: "/opt/libswiftleak-agent.so.d/libfoo.so"))
        XCTAssertFalse(AllocatorFrames.isAllocator(Frame(address: 9)))
    }

    func testStackOfOnlyAllocatorFramesKeepsTheOutermost() {
        XCTAssertEqual(AllocatorFrames.fold([F.agentMalloc, F.slowAlloc]), [F.slowAlloc])
        XCTAssertEqual(AllocatorFrames.fold([]), [])
    }

    func testEmptyStackAndBadIndicesStillCount() {
        var snapshot = makeSnapshot([])
        snapshot.stacks = [[], [99]]
        snapshot.sites = [Site(stack: 0, size: 10, count: 1), Site(stack: 1, size: 5, count: 1), Site(stack: 7, size: 1, count: 1)]
        let stats = Statistics.compute(snapshot, groupBy: .lineno, options: AnalysisOptions())
        XCTAssertEqual(stats.map(\.size), [16])
        XCTAssertEqual(stats.map(\.count), [3])
    }
}
