import Foundation
import LeakModel
import LeakSymbols
import XCTest

/// Symbolizes a live child process built from known C source.
final class SymbolizerFixtureTests: XCTestCase {
    func testFunctionFileLineAndModuleOfALiveProcess() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        defer { fixture.stop() }
        let symbolizer = try Symbolizer(pid: fixture.pid)

        let frames = symbolizer.symbolize(stack: [fixture.leafAddress, fixture.returnInMain])
        XCTAssertEqual(frames.count, 2)

        XCTAssertEqual(frames[0].function, "leaf_function")
        XCTAssertEqual(frames[0].file.map { URL(fileURLWithPath: $0).lastPathComponent }, "fixture.c")
        XCTAssertEqual(frames[0].line, FixtureProcess.line(of: "LEAF"))
        XCTAssertEqual(frames[0].module, fixture.binaryPath)
        XCTAssertEqual(frames[0].address, fixture.leafAddress)

        // A return address is looked up at ip-1 (the call) but reported as is.
        XCTAssertEqual(frames[1].function, "main")
        XCTAssertEqual(frames[1].line, FixtureProcess.line(of: "CALL"))
        XCTAssertEqual(frames[1].module, fixture.binaryPath)
        XCTAssertEqual(frames[1].address, fixture.returnInMain)
    }

    func testInlinedCodeReportsTheInnermostInlinedFunction() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        defer { fixture.stop() }
        let symbolizer = try Symbolizer(pid: fixture.pid)

        let frame = symbolizer.symbolize(address: fixture.returnInInlined, isReturnAddress: true)
        XCTAssertEqual(frame.function, "inlined_caller")
        XCTAssertEqual(frame.line, FixtureProcess.line(of: "INLINE_CALL"))
        XCTAssertEqual(frame.address, fixture.returnInInlined)
    }

    func testRepeatedLookupsAreServedFromTheCacheAndAgree() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        defer { fixture.stop() }
        let symbolizer = try Symbolizer(pid: fixture.pid)
        let first = symbolizer.symbolize(address: fixture.returnInMain, isReturnAddress: true)
        try symbolizer.refresh() // nothing was mapped: the cache survives
        XCTAssertEqual(symbolizer.symbolize(address: fixture.returnInMain, isReturnAddress: true), first)
        // The same address as an exact ip is a different question (no ip-1).
        let exact = symbolizer.symbolize(address: fixture.leafAddress, isReturnAddress: false)
        XCTAssertEqual(exact.function, "leaf_function")
    }

    func testRefreshAfterExitThrowsAndKnownFramesStillResolve() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        let symbolizer = try Symbolizer(pid: fixture.pid)
        let before = symbolizer.symbolize(address: fixture.returnInMain, isReturnAddress: true)
        fixture.stop()

        XCTAssertThrowsError(try symbolizer.refresh()) { error in
            guard case SymbolizerError.cannotReadMaps(let pid, _) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(pid, fixture.pid)
            XCTAssertFalse(String(describing: error).contains("\n"))
        }
        // Modules loaded while it lived keep working; new lookups do not crash.
        XCTAssertEqual(symbolizer.symbolize(address: fixture.returnInMain, isReturnAddress: true), before)
        _ = symbolizer.symbolize(address: fixture.leafAddress, isReturnAddress: false)
        XCTAssertThrowsError(try Symbolizer(pid: fixture.pid))
    }

    func testModuleDeletedFromDiskStillGivesBestEffortFrames() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        defer { fixture.stop() }
        try FileManager.default.removeItem(atPath: fixture.binaryPath)
        let symbolizer = try Symbolizer(pid: fixture.pid)

        let frame = symbolizer.symbolize(address: fixture.leafAddress, isReturnAddress: false)
        XCTAssertEqual(frame.module, fixture.binaryPath + " (deleted)")
        XCTAssertEqual(frame.address, fixture.leafAddress)
        // Only CAP_SYS_ADMIN may open /proc/PID/map_files, the one way back to the unlinked file.
        if geteuid() == 0 {
            XCTAssertEqual(frame.function, "leaf_function")
            XCTAssertEqual(frame.line, FixtureProcess.line(of: "LEAF"))
        } else {
            XCTAssertNil(frame.function, "without root the unlinked file is out of reach: module and address only")
            XCTAssertEqual(frame.line, 0)
        }
    }
}
