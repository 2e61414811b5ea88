import Foundation
import LeakModel
import LeakSymbols
import XCTest

/// The symbolizer hands out demangled names: symbolizes Swift and C++
/// functions of libraries loaded in the test process itself.
final class SymbolizerDemangleTests: XCTestCase {
    private func frame(of symbol: String) throws -> Frame {
        let pointer = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), symbol), symbol)
        let symbolizer = try Symbolizer(pid: getpid())
        return symbolizer.symbolize(address: UInt64(UInt(bitPattern: pointer)), isReturnAddress: false)
    }

    func testSwiftFunctionIsDemangled() throws {
        // String.count's getter, exported by libswiftCore.
        let f = try frame(of: "$sSS5countSivg")
        XCTAssertEqual(f.function, "Swift.String.count.getter : Swift.Int", "\(f)")
        XCTAssertTrue(f.module?.contains("libswiftCore") ?? false, "\(f)")
    }

    func testCxxFunctionIsDemangled() throws {
        // std::exception's destructor, exported by libstdc++ (which the Swift runtime links).
        let f = try frame(of: "_ZNSt9exceptionD2Ev")
        XCTAssertEqual(f.function, "std::exception::~exception()", "\(f)")
    }
}
