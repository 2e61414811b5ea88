import Foundation
import LeakModel
import LeakSymbols
import XCTest

/// `releaseModuleData()`: the modules' files are closed, known
/// frames stay, and a new address opens its module again with the same answers.
final class SymbolizerReleaseTests: XCTestCase {
    func testReleaseClosesTheModuleFilesAndNewAddressesResolveAsBefore() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        defer { fixture.stop() }
        let symbolizer = try Symbolizer(pid: fixture.pid)
        let inMain = symbolizer.frames(address: fixture.returnInMain, isReturnAddress: true)
        XCTAssertEqual(inMain.first?.function, "main")
        XCTAssertEqual(Self.ourOpenDescriptors(of: fixture.binaryPath), 1, "libdwfl keeps the module it read open")

        XCTAssertTrue(symbolizer.releaseModuleData())
        XCTAssertEqual(Self.ourOpenDescriptors(of: fixture.binaryPath), 0, "a released module stays open")

        // Known: from the cache, without opening anything.
        XCTAssertEqual(symbolizer.frames(address: fixture.returnInMain, isReturnAddress: true), inMain)
        XCTAssertEqual(Self.ourOpenDescriptors(of: fixture.binaryPath), 0)
        // New: the module is opened again, and answers as a symbolizer that never released.
        let fresh = try Symbolizer(pid: fixture.pid)
        for (address, isReturn) in [(fixture.leafAddress, false), (fixture.returnInInlined, true)] {
            let again = symbolizer.frames(address: address, isReturnAddress: isReturn)
            XCTAssertEqual(again, fresh.frames(address: address, isReturnAddress: isReturn))
            XCTAssertNotNil(again.first?.line)
        }
        XCTAssertEqual(Self.ourOpenDescriptors(of: fixture.binaryPath), 2, "opened again, and by the fresh symbolizer")
        XCTAssertEqual(symbolizer.symbolize(address: fixture.leafAddress, isReturnAddress: false).function, "leaf_function")
        XCTAssertEqual(symbolizer.symbolize(address: fixture.returnInInlined, isReturnAddress: true).line,
                       FixtureProcess.line(of: "INLINE_CALL"))
    }

    func testAfterTheProcessExitedReleaseKeepsItsModulesOpen() throws {
        let fixture = try FixtureProcess()
        try fixture.start()
        let symbolizer = try Symbolizer(pid: fixture.pid)
        XCTAssertEqual(symbolizer.symbolize(address: fixture.returnInMain, isReturnAddress: true).function, "main")
        fixture.stop()

        // Its modules could not be listed again: keep those open, they still answer.
        XCTAssertFalse(symbolizer.releaseModuleData())
        let leaf = symbolizer.symbolize(address: fixture.leafAddress, isReturnAddress: false)
        XCTAssertEqual(leaf.function, "leaf_function")
        XCTAssertEqual(leaf.line, FixtureProcess.line(of: "LEAF"))
    }

    /// Our file descriptors open on `path`.
    private static func ourOpenDescriptors(of path: String) -> Int {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == path }.count
    }
}
