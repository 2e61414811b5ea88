import Foundation
import XCTest

/// A leak three awaits deep in Swift async code built -O -g
/// (Fixtures/AsyncLeaky.swift): the thread's stack holds only makeRecord's
/// partial function and the executor; its callers handleRequest, serve and
/// the top-level code must come from the task's async context chain, in
/// order, marked async, each at its line as llvm-symbolizer reads the same
/// addresses.
final class AsyncCallerTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// Records the fixture leaks; each one's payload array is one block.
    private static let leaked: Int64 = 300
    private static let chain = [("makeRecord", "makeRecord"), ("handleRequest", "handleRequest"),
                                ("serve", "serve"), ("main", "main")]

    func testAwaitingCallersFollowTheAllocatingFunctionInOrder() throws {
        let run = try OptimizedRun(fixture: "AsyncLeaky", source: "AsyncLeaky.swift")
        let stats = try run.stats(groupBy: "traceback")
        let leak = try XCTUnwrap(stats.first { OptimizedRun.count($0) == Self.leaked && run.contains(Self.chain, in: $0) },
                                 "no traceback makeRecord <- handleRequest <- serve <- main: \(stats)")
        let frames = OptimizedRun.frames(leak)
        let names = frames.map { $0["function"] as? String ?? "" }
        let allocating = try XCTUnwrap(names.firstIndex { $0.contains("makeRecord") })
        // The synchronous frames up to the running partial function, then
        // exactly the three awaiting callers; the executor's frames are folded.
        XCTAssertEqual(frames[...allocating].filter { $0["async"] as? Bool == true }.count, 0, "\(frames)")
        XCTAssertEqual(frames.count - allocating - 1, 3, "\(names)")
        XCTAssertTrue(frames[(allocating + 1)...].allSatisfy { $0["async"] as? Bool == true }, "\(frames)")
        XCTAssertEqual(names.last, "main")
        // Functions, not the partial functions the compiler split them into.
        XCTAssertFalse(names.contains { $0.contains("partial function") || $0.contains("async_Main") }, "\(names)")

        // `--group-by lineno` puts the leak on makeRecord's line.
        let lines = try run.stats(groupBy: "lineno")
        let site = try XCTUnwrap(lines.first { run.isAt("makeRecord", $0) }, "no group at makeRecord: \(lines)")
        XCTAssertGreaterThanOrEqual(OptimizedRun.count(site) ?? 0, Self.leaked)

        // --raw: the executor comes back, after the async callers.
        let raw = try run.stats(groupBy: "traceback", raw: true)
        let rawLeak = try XCTUnwrap(raw.first { OptimizedRun.count($0) == Self.leaked && run.contains(Self.chain, in: $0) })
        let rawFrames = OptimizedRun.frames(rawLeak)
        let rawNames = rawFrames.map { $0["function"] as? String ?? "" }
        let main = try XCTUnwrap(rawNames.firstIndex(of: "main"))
        let runner = try XCTUnwrap(rawNames.firstIndex { $0.hasPrefix("swift_job_run") }, "\(rawNames)")
        XCTAssertLessThan(main, runner)
        XCTAssertFalse(rawFrames[runner...].contains { $0["async"] as? Bool == true })

        try checkAgainstLLVMSymbolizer(run: run, frames: rawFrames)
    }

    /// Each frame of the fixture in the traceback, symbolized by
    /// llvm-symbolizer: the synchronous one at its call (address - 1), the
    /// async ones at their resume function's entry (the address itself, the
    /// first byte of a function), named by the first line of the body when
    /// the entry has none.
    private func checkAgainstLLVMSymbolizer(run: OptimizedRun, frames: [[String: Any]]) throws {
        let own = frames.filter { OptimizedRun.basename($0["module"]) == OptimizedRun.basename(run.binary) }
        var byAddress: [(address: UInt64, isAsync: Bool, outer: [String: Any])] = []
        for frame in own {
            let address = try XCTUnwrap(UInt64((frame["address"] as? String ?? "").dropFirst(2), radix: 16))
            let isAsync = frame["async"] as? Bool == true
            if let last = byAddress.last, last.address == address { byAddress[byAddress.count - 1].outer = frame } else {
                byAddress.append((address, isAsync, frame))
            }
        }
        let resumePoints = byAddress.filter(\.isAsync)
        XCTAssertGreaterThanOrEqual(resumePoints.count, 3, "\(frames)")
        let probe: UInt64 = 64
        for point in byAddress {
            let offset = point.address - run.base
            let context = "at \(String(offset, radix: 16)): \(point.outer)"
            if !point.isAsync {
                let reference = try XCTUnwrap(run.llvmSymbolizer([offset - 1]).first?.last, context)
                XCTAssertEqual(OptimizedRun.int(point.outer["line"]).map(Int.init), reference.line, context)
                continue
            }
            // [entry - 1, entry, entry + 1, ...]: outermost level of each.
            let levels = try run.llvmSymbolizer((offset - 1..<offset + probe).map { $0 }).compactMap(\.last)
            XCTAssertEqual(levels.count, Int(probe) + 1, context)
            guard levels.count == Int(probe) + 1 else { continue }
            XCTAssertNotEqual(levels[0].function, levels[1].function, "not a function entry: " + context)
            // A function with no line at all (the compiler's task entry thunk) keeps none.
            let body = levels[1...].prefix { $0.function == levels[1].function }.first { $0.line != nil }
            XCTAssertEqual(OptimizedRun.int(point.outer["line"]).map(Int.init), body?.line, context)
            if let body { XCTAssertEqual(OptimizedRun.basename(point.outer["file"]), OptimizedRun.basename(body.file), context) }
        }
        // The three awaits, at the fixture's marked lines, in this order.
        XCTAssertEqual(resumePoints.prefix(3).map { OptimizedRun.int($0.outer["line"]) },
                       ["handleRequest", "serve", "main"].map { Int64(run.line($0)) })
    }
}
