import XCTest
@testable import LeakSymbols

/// Swift async functions are split into partial functions at each await;
/// frames name the function people wrote.
final class AsyncDemanglingTests: XCTestCase {
    func testPartialFunctionsAreNamedByTheirFunction() {
        // Symbols of Tests/Fixtures/AsyncLeaky.swift built as module AL.
        XCTAssertEqual(Demangler.demangle("$s2AL10makeRecordyAA0C0CSiYaFTY1_"), "AL.makeRecord(Swift.Int) async -> AL.Record")
        XCTAssertEqual(Demangler.demangle("$s2AL13handleRequestyySiYaFTQ0_"), "AL.handleRequest(Swift.Int) async -> ()")
        XCTAssertEqual(Demangler.demangle("$s2AL5serveyySiYaFTQ1_"), "AL.serve(Swift.Int) async -> ()")
        // The async function itself is unchanged.
        XCTAssertEqual(Demangler.demangle("$s2AL5serveyySiYaF"), "AL.serve(Swift.Int) async -> ()")
    }

    func testOnlyTheDemanglersPrefixIsDropped() {
        XCTAssertEqual(Demangler.asyncFunction("(2) suspend resume partial function for closure #1 () async -> () in AL.serve(Swift.Int) async -> ()"),
                       "closure #1 () async -> () in AL.serve(Swift.Int) async -> ()")
        let named = "AL.Reader.partial function for (Swift.Int) -> ()"
        XCTAssertEqual(Demangler.asyncFunction(named), named)
    }

    func testAsyncTopLevelCodeIsMain() {
        for symbol in ["async_Main", "async_MainTQ0_", "async_MainTY1_", "async_MainTY12_"] {
            XCTAssertEqual(Demangler.demangle(symbol), "main", symbol)
        }
        for symbol in ["async_MainT", "async_MainTQ_", "async_MainTQx_", "async_Mainly"] {
            XCTAssertEqual(Demangler.demangle(symbol), symbol)
        }
    }
}
