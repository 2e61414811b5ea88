import XCTest
import LeakModel

/// The symbolizer now hands over demangled names: the allocator list must
/// recognise those forms as well as the mangled ones.
final class DemangledFoldingTests: XCTestCase {
    private func isAllocator(_ name: String) -> Bool {
        AllocatorFrames.isAllocator(Frame(function: name, module: "/app/server", address: 1))
    }

    func testStandardLibraryFramesFoldToTheUserLine() {
        let user = Frame(function: "server.handle(Swift.Int) -> ()", file: "/src/server.swift", line: 12, module: "/app/server", address: 0x42)
        let stack = [
            Frame(function: "malloc", module: "/opt/swiftleak/lib/libswiftleak-agent.so", address: 1),
            Frame(function: "swift_slowAlloc", module: "/usr/lib/swift/linux/libswiftCore.so", address: 2),
            Frame(function: "Swift._ContiguousArrayBuffer.init(_uninitializedCount: Swift.Int, minimumCapacity: Swift.Int) -> Swift._ContiguousArrayBuffer<A>",
                  module: "/usr/lib/swift/linux/libswiftCore.so.6", address: 3),
            user,
        ]
        XCTAssertEqual(AllocatorFrames.fold(stack), [user])
    }

    func testDemangledAllocatorFrames() {
        for name in [
            "swift::swift_slowAlloc(unsigned long, unsigned long)",
            "swift_slowAlloc", "swift_allocObject",
            "_swift_allocObject_(swift::TargetHeapMetadata<swift::InProcess> const*, unsigned long, unsigned long)",
            "operator new(unsigned long)", "operator new[](unsigned long)",
            "operator new(unsigned long, std::nothrow_t const&)", "operator new(unsigned long, std::align_val_t)",
            "alloc.Node.__allocating_init() -> alloc.Node",
            "generic specialization <Swift.Int> of server.Cache.__allocating_init(capacity: Swift.Int) -> server.Cache<A>",
            // The C++ standard library grows a vector for its caller.
            "std::vector<int, std::allocator<int> >::push_back(int const&)",
            // Swift's standard library inlined or specialized into the program (-O).
            "Swift._ContiguousArrayBuffer.init(_uninitializedCount: Swift.Int, minimumCapacity: Swift.Int) -> Swift._ContiguousArrayBuffer<A>",
            "static Swift.UnsafeMutableRawPointer.allocate(byteCount: Swift.Int, alignment: Swift.Int) -> Swift.UnsafeMutableRawPointer",
            "generic specialization <Swift.UnsafeMutableRawPointer> of Swift._ContiguousArrayBuffer._consumeAndCreateNew(bufferIsUnique: Swift.Bool, minimumCapacity: Swift.Int, growForAppend: Swift.Bool) -> Swift._ContiguousArrayBuffer<A>",
            "(extension in Swift):Swift.Array.init(repeating: A, count: Swift.Int) -> Swift.Array<A>",
        ] {
            XCTAssertTrue(isAllocator(name), name)
        }
    }

    func testDemangledUserAndLibraryFramesStay() {
        for name in [
            "alloc.Node.init() -> alloc.Node",
            "alloc.keep() -> [Swift.AnyObject]",
            // The program's own code in an extension of a standard type.
            "(extension in alloc):Swift.Array.keepAll() -> ()",
            "generic specialization <Swift.Int> of alloc.Cache.put(A) -> ()",
            "operator delete(void*)", "swift::swift_slowDealloc(void*, unsigned long, unsigned long)",
            "__libc_start_main", "main",
        ] {
            XCTAssertFalse(isAllocator(name), name)
        }
    }

    func testSwiftObjectStackWithDemangledNamesFoldsToTheCaller() {
        let user = Frame(function: "alloc.keep() -> [Swift.AnyObject]", file: "/src/alloc.swift", line: 6, module: "/app/alloc", address: 0x42)
        let stack = [
            Frame(function: "malloc", module: "/opt/swiftleak/lib/libswiftleak-agent.so", address: 1),
            Frame(function: "swift_slowAlloc", module: "/usr/lib/swift/linux/libswiftCore.so", address: 2),
            Frame(function: "swift_allocObject", module: "/usr/lib/swift/linux/libswiftCore.so", address: 3),
            Frame(function: "alloc.Node.__allocating_init() -> alloc.Node", module: "/app/alloc", address: 4),
            user,
        ]
        XCTAssertEqual(AllocatorFrames.fold(stack), [user])
    }
}
