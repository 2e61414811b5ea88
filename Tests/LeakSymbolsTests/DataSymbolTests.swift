import Glibc
import LeakSymbols
import XCTest

/// A class whose metadata the test looks up in its own process.
final class DataSymbolProbe {}

/// Global data the test looks up in its own process.
nonisolated(unsafe) var dataSymbolProbeGlobal: (UInt64, UInt64) = (1, 2)

/// Data symbols of a live process: Swift type metadata (a local symbol of
/// the test binary) and a global, with the offset into it.
final class DataSymbolTests: XCTestCase {
    func testClassMetadataIsItsTypeMetadataSymbol() throws {
        let symbolizer = try Symbolizer(pid: getpid())
        let metadata = UInt64(UInt(bitPattern: unsafeBitCast(DataSymbolProbe.self, to: UnsafeRawPointer.self)))
        let symbol = try XCTUnwrap(symbolizer.dataSymbol(at: metadata))
        XCTAssertEqual(Demangler.demangle(symbol.name), "type metadata for LeakSymbolsTests.DataSymbolProbe")
        XCTAssertEqual(symbol.offset, 0)
        XCTAssertTrue(symbol.module.hasSuffix("swiftleakPackageTests.xctest"), symbol.module)
    }

    func testAnAddressInsideAGlobalHasItsOffset() throws {
        let symbolizer = try Symbolizer(pid: getpid())
        let address = withUnsafePointer(to: &dataSymbolProbeGlobal) { UInt64(UInt(bitPattern: $0)) }
        let symbol = try XCTUnwrap(symbolizer.dataSymbol(at: address + 8))
        XCTAssertEqual(Demangler.demangle(symbol.name), "LeakSymbolsTests.dataSymbolProbeGlobal : (Swift.UInt64, Swift.UInt64)")
        XCTAssertEqual(symbol.offset, 8)
        XCTAssertNil(symbolizer.dataSymbol(at: 8), "no module maps page 0")
    }
}
