import XCTest
@testable import LeakSymbols

final class DemanglerTests: XCTestCase {
    func testSwiftSymbols() {
        XCTAssertEqual(Demangler.demangle("$sSi"), "Swift.Int")
        XCTAssertEqual(Demangler.demangle("$s4main3FooC3baryyF"), "main.Foo.bar() -> ()")
        XCTAssertEqual(Demangler.demangle("_$s4main3FooCACycfC"), "main.Foo.__allocating_init() -> main.Foo")
        XCTAssertEqual(Demangler.demangle("$s5alloc4keepSayyXlGyF"), "alloc.keep() -> Swift.Array<Swift.AnyObject>")  // the runtime does not sugar
        // Swift 4.2 and 4.0 manglings.
        XCTAssertEqual(Demangler.demangle("$S4main3FooC3baryyF"), "main.Foo.bar() -> ()")
        XCTAssertEqual(Demangler.demangle("_T0Si"), "Swift.Int")
        XCTAssertEqual(
            Demangler.demangle("$ss17_NativeDictionaryV8setValue_6forKey8isUniqueyq_n_xSbtFSS_SiTg5"),
            "generic specialization <Swift.String, Swift.Int> of Swift._NativeDictionary.setValue(_: __owned B, forKey: A, isUnique: Swift.Bool) -> ()")
    }

    func testCxxSymbols() {
        XCTAssertEqual(Demangler.demangle("_ZN5swift15swift_slowAllocEmm"), "swift::swift_slowAlloc(unsigned long, unsigned long)")
        XCTAssertEqual(Demangler.demangle("_Znwm"), "operator new(unsigned long)")
        XCTAssertEqual(Demangler.demangle("_Znam"), "operator new[](unsigned long)")
        XCTAssertEqual(Demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"), "std::vector<int, std::allocator<int> >::push_back(int const&)")
    }

    func testOtherNamesAreUnchanged() {
        for name in ["malloc", "main", "__libc_start_main", "", "$", "_Z", "_ZZZ not a symbol", "$sNOT A SYMBOL",
                     "swift_allocObject", "_T0", "operator new(unsigned long)"] {
            XCTAssertEqual(Demangler.demangle(name), name)
        }
    }

    func testCachedAndThreadSafe() {
        let names = (0..<50).map { _ in ["$sSi", "_Znwm", "malloc", "$s4main3FooC3baryyF"] }.flatMap { $0 }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for name in names { _ = Demangler.demangle(name) }
        }
        XCTAssertEqual(Demangler.demangle("$sSi"), "Swift.Int")
        XCTAssertEqual(Demangler.demangle("_Znwm"), "operator new(unsigned long)")
    }
}
