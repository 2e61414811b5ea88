import Foundation
import XCTest

/// `--sample-bytes`: the estimate of a known leak (the fixture prints its
/// own ground truth) in run and attach mode, and exact mode unchanged.
///
/// The tolerance: the fixture leaks about 10 MB in blocks of 16 B to 256 KiB;
/// at 64 KiB the estimate's standard error is about 5%, so 20% is four of
/// them (a failure by chance about once in 10,000 runs).
final class SampledModeTests: XCTestCase {
    private static let rate = 65536

    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        guard FileManager.default.isExecutableFile(atPath: TestEnvironment.fixture("sampled_leak")) else {
            XCTFail("fixture sampled_leak is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
    }

    func testRunEstimatesTheKnownLeakWithinTwentyPercent() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--sample-bytes", "64KiB", "--output", output, "--",
                                                          TestEnvironment.fixture("sampled_leak"), "batch"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let truth = try groundTruth(run.stdout)
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
        try assertEstimate(final, truth: truth)
    }

    func testAttachEstimatesTheKnownLeakWithinTwentyPercent() throws {
        let target = try startTarget(TestEnvironment.fixture("sampled_leak"), ["interactive"])
        let attach = try attachSampled(target, rate: "64KiB")
        target.send("leak")
        let line = try target.waitForLine(containing: "leaked ", timeout: 30)
        let truth = try groundTruth(line)
        let snapshot = try AttachedSession.request("snapshot", pid: target.pid, file: #filePath, line: #line)
        try assertEstimate(snapshot, truth: truth)
        _ = try AttachedSession.request("detach", pid: target.pid, file: #filePath, line: #line)
        XCTAssertEqual(try attach.wait(timeout: 30), 0, attach.stderr)
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
    }

    func testExactRunIsUnchangedAndNotMarked() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("sampled_leak"), "batch"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let truth = try groundTruth(run.stdout)
        let final = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
        let top = try SwiftLeakCLI.json(["top", final, "--group-by", "function"])
        let leak = try XCTUnwrap(SwiftLeakCLI.stat(SwiftLeakCLI.stats(top), function: "leak_block"))
        XCTAssertEqual(SwiftLeakCLI.int(leak["size"]), truth.bytes)
        XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), truth.blocks)
        XCTAssertNil(SwiftLeakCLI.stat(SwiftLeakCLI.stats(top), function: "churn_block"), "churn is all freed")
        let snapshot = try XCTUnwrap(top["snapshot"] as? [String: Any])
        XCTAssertNil(snapshot["estimated"], "\(snapshot)")
        let text = try runCommand(TestEnvironment.binary, ["top", final])
        XCTAssertFalse(text.stdout.contains("estimated"), text.stdout)
    }

    /// A thread's countdown outlives its session: after a sampled attach
    /// (1 GiB apart, so each thread's countdown would swallow the whole next
    /// leak), an exact attach to the same process must still record every
    /// block. The main thread allocates in both sessions.
    func testExactAttachAfterASampledOneRecordsEveryBlock() throws {
        let target = try startTarget(TestEnvironment.fixture("sampled_leak"), ["interactive"])
        let sampled = try attachSampled(target, rate: "1GiB")
        target.send("leak")
        _ = try target.waitForLine(containing: "leaked ", timeout: 30)
        _ = try AttachedSession.request("detach", pid: target.pid, file: #filePath, line: #line)
        XCTAssertEqual(try sampled.wait(timeout: 30), 0, sampled.stderr)
        TargetProc.waitUntilAgentIdle(target.pid)

        let exact = try AttachedSession(target)
        addTeardownBlock { exact.kill9() }
        let previous = target.stdout.split(separator: "\n").count
        target.send("leak")
        let truth = try groundTruth(try target.waitForLine(containing: "leaked ", after: previous, timeout: 30))
        let top = try SwiftLeakCLI.json(["top", try exact.snapshot(), "--group-by", "function"])
        XCTAssertNil((top["snapshot"] as? [String: Any])?["estimated"], "\(top["snapshot"] ?? "")")
        let leak = try XCTUnwrap(SwiftLeakCLI.stat(SwiftLeakCLI.stats(top), function: "leak_block"))
        XCTAssertEqual(SwiftLeakCLI.int(leak["size"]), truth.bytes)
        XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), truth.blocks)
        _ = try exact.detach()
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
    }

    /// `swiftleak attach PID --sample-bytes RATE`, started and attached (killed at teardown if still running).
    private func attachSampled(_ target: ChildProcess, rate: String) throws -> ChildProcess {
        let output = try TestEnvironment.temporaryDirectory()
        let attach = try ChildProcess(TestEnvironment.binary, ["attach", "\(target.pid)", "--sample-bytes", rate, "--output", output])
        addTeardownBlock { if attach.process.isRunning { attach.signal(SIGKILL) } }
        try attach.waitForLine(containing: "attached to \(target.pid)", onStderr: true, timeout: 30)
        return attach
    }

    /// "leaked BYTES bytes in BLOCKS blocks"
    private func groundTruth(_ text: String) throws -> (bytes: Int64, blocks: Int64) {
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("leaked ") }, text)
        let words = line.split(separator: " ")
        XCTAssertEqual(words.count, 6, String(line))
        return (try XCTUnwrap(Int64(words[1])), try XCTUnwrap(Int64(words[4])))
    }

    /// The snapshot says it is sampled at 64 KiB, the leak site's estimated
    /// bytes are within 20% of the truth, and the churn (all freed) is gone.
    private func assertEstimate(_ path: String, truth: (bytes: Int64, blocks: Int64), file: StaticString = #filePath, line: UInt = #line) throws {
        let top = try SwiftLeakCLI.json(["top", path, "--group-by", "function"], file: file, line: line)
        let snapshot = try XCTUnwrap(top["snapshot"] as? [String: Any], file: file, line: line)
        XCTAssertEqual(snapshot["estimated"] as? Bool, true, "\(snapshot)", file: file, line: line)
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["sample_bytes"]), Int64(Self.rate), file: file, line: line)
        let stats = SwiftLeakCLI.stats(top)
        let leak = try XCTUnwrap(SwiftLeakCLI.stat(stats, function: "leak_block"), "\(stats.prefix(3))", file: file, line: line)
        let estimate = try XCTUnwrap(SwiftLeakCLI.int(leak["size"]), file: file, line: line)
        let error = Double(estimate - truth.bytes) / Double(truth.bytes)
        XCTAssertLessThanOrEqual(abs(error), 0.2, "estimated \(estimate) bytes, truth \(truth.bytes)", file: file, line: line)
        // The frees of unsampled blocks were never sent: the aggregator saw
        // no free it did not know (the agent's set held every sampled block).
        XCTAssertEqual(SwiftLeakCLI.int(snapshot["unknown_frees"]), 0, "\(snapshot)", file: file, line: line)
        // Fewer samples than blocks: sampling happened.
        XCTAssertLessThan(SwiftLeakCLI.int(snapshot["sampled_live_blocks"]) ?? .max, truth.blocks, "\(snapshot)", file: file, line: line)
        XCTAssertNil(SwiftLeakCLI.stat(stats, function: "churn_block"), "every sampled churn block was freed: \(stats.prefix(3))", file: file, line: line)
        let text = try runCommand(TestEnvironment.binary, ["top", path])
        XCTAssertTrue(text.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("estimated: ") == true, text.stdout, file: file, line: line)
    }
}
