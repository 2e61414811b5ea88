import Foundation
import XCTest

/// `swiftleak run` through wrappers that exec the real program (sh -c
/// 'exec ...', a shim, pyenv's shims) and, with --follow-forks, into the
/// children of a pre-fork server.
final class RunFollowTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        if !FileManager.default.isExecutableFile(atPath: TestEnvironment.fixture("forker")) {
            XCTFail("fixture forker is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
    }

    /// The totals of a run's final snapshot, and the snapshot's JSON header.
    private struct Totals: Equatable {
        var allocations: Int64?
        var frees: Int64?
        var currentBytes: Int64?
        var currentBlocks: Int64?
    }

    private func finalSnapshot(_ arguments: [String], environment: [String: String]? = nil,
                               file: StaticString = #filePath, line: UInt = #line) throws -> (run: (status: Int32, stdout: String, stderr: String), path: String, header: [String: Any]) {
        let output = try TestEnvironment.temporaryDirectory()
        let child = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--"] + arguments, environment: environment)
        child.closeInput()
        let run = (status: try child.wait(), stdout: child.stdout, stderr: child.stderr)
        XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
        let finals = SwiftLeakCLI.snapshotPaths(in: run.stderr).filter { $0.hasPrefix(output + "/") && $0.hasSuffix("-final.swleak") }
        let path = try XCTUnwrap(finals.last, "no final snapshot: \(run.stderr)", file: file, line: line)
        let top = try SwiftLeakCLI.json(["top", path, "--group-by", "function"], file: file, line: line)
        return (run, path, try XCTUnwrap(top["snapshot"] as? [String: Any], file: file, line: line))
    }

    private func totals(_ header: [String: Any]) -> Totals {
        Totals(allocations: SwiftLeakCLI.int(header["allocations"]), frees: SwiftLeakCLI.int(header["frees"]),
               currentBytes: SwiftLeakCLI.int(header["current_bytes"]), currentBlocks: SwiftLeakCLI.int(header["current_blocks"]))
    }

    /// A wrapper script of the kind Docker entrypoints and version managers use.
    private func makeShim() throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/shim"
        try "#!/bin/sh\nexec \"$@\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
        return path
    }

    func testRunThroughAnExecCountsExactlyWhatTheProgramDoes() throws {
        let leaky = [TestEnvironment.fixture("leaky"), "batch", "300", "2"]
        let direct = try finalSnapshot(leaky)
        let expected = totals(direct.header)
        XCTAssertGreaterThan(expected.allocations ?? 0, 2000, "the direct run must see the program's allocations")

        for wrapped in [["sh", "-c", "exec \"$0\" \"$@\""] + leaky, [try makeShim()] + leaky] {
            let run = try finalSnapshot(wrapped)
            XCTAssertEqual(totals(run.header), expected, "through \(wrapped[0]): \(run.run.stderr)")
            XCTAssertEqual(run.header["command"] as? [String], leaky, "the snapshot names the program, not the wrapper")
            XCTAssertEqual(run.run.stdout, "leaked 300 blocks of 4001 bytes\n")
            let notes = run.run.stderr.split(separator: "\n").filter { $0.contains("exec'd \(leaky[0]) batch 300 2; tracing goes on in the new image") }
            XCTAssertEqual(notes.count, 1, run.run.stderr)
            XCTAssertFalse(run.run.stderr.contains("warning"), run.run.stderr)
            let top = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", run.path, "--group-by", "function"]))
            let leak = try XCTUnwrap(top.first { SwiftLeakCLI.function($0) == "make_session_record" }, "\(top)")
            XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), 300)
            XCTAssertEqual(SwiftLeakCLI.int(leak["size"]), 300 * 4001)
        }
    }

    func testRunThroughThePyenvShimCountsExactlyWhatTheInterpreterDoes() throws {
        let shim = "/root/.pyenv/shims/python3"
        guard FileManager.default.isExecutableFile(atPath: shim) else {
            XCTFail("\(shim) is missing: this machine kind carries pyenv with python3 shims")
            return
        }
        // Where the shim leads, and the environment it gives the interpreter
        // (pyenv adds to PATH and sets PYENV_*): the interpreter's own
        // allocations depend on the size of its environment.
        let resolved = try runCommand(shim, ["-c", "import json, os, sys; print(json.dumps([sys.executable, dict(os.environ)]))"])
        XCTAssertEqual(resolved.status, 0, resolved.stderr)
        let facts = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(resolved.stdout.utf8)) as? [Any])
        let interpreter = try XCTUnwrap(facts.first as? String)
        let shimEnvironment = try XCTUnwrap(facts.last as? [String: String])
        XCTAssertTrue(interpreter.hasPrefix("/root/.pyenv/versions/"), interpreter)
        // 500 blocks of 4001 bytes from C, kept alive: a leak no interpreter makes by itself.
        let script = """
        import ctypes
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        kept = [libc.malloc(4001) for _ in range(500)]
        print(len(kept))
        """
        // Counted at malloc's level (SWIFTLEAK_PYTHON=off): the number of
        // objects CPython allocates at start-up changes with the order of
        // its environment (measured: one allocation and one free), and a
        // [String: String] environment keeps no order.
        let mallocOnly = ["SWIFTLEAK_PYTHON": "off"]
        let direct = try finalSnapshot([interpreter, "-c", script], environment: shimEnvironment.merging(mallocOnly) { $1 })
        let viaShim = try finalSnapshot([shim, "-c", script], environment: ProcessInfo.processInfo.environment.merging(mallocOnly) { $1 })
        XCTAssertEqual(viaShim.run.stdout, "500\n")
        XCTAssertGreaterThan(SwiftLeakCLI.int(direct.header["allocations"]) ?? 0, 1000)
        XCTAssertEqual(totals(viaShim.header), totals(direct.header), viaShim.run.stderr)
        XCTAssertEqual((viaShim.header["command"] as? [String])?.first, interpreter)
        for run in [direct, viaShim] {
            let sites = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", run.path, "--group-by", "traceback"]))
            let leak = sites.filter { SwiftLeakCLI.int($0["size"]) == 4001 * (SwiftLeakCLI.int($0["count"]) ?? 0) && SwiftLeakCLI.int($0["count"]) == 500 }
            XCTAssertEqual(leak.count, 1, "the 500 blocks of 4001 bytes at one site: \(sites.prefix(3))")
        }
    }

    func testExecIntoAProgramThatDropsTheAgentIsSaid() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let leaky = TestEnvironment.fixture("leaky")
        let session = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", "sh", "-c", "exec env -u LD_PRELOAD \(leaky) interactive 1"])
        // The program without the agent runs: its predecessor's stream ended long ago.
        try session.waitForLine(containing: "ready")
        session.send("work 10")
        try session.waitForLine(containing: "done 10")
        session.send("quit")
        XCTAssertEqual(try session.wait(), 0)
        let warnings = session.stderrLines(containing: "warning: pid")
        XCTAssertEqual(warnings.count, 1, session.stderr)
        XCTAssertTrue(warnings.first?.contains("closed the agent's stream without exiting") == true, session.stderr)
        XCTAssertEqual(SwiftLeakCLI.snapshotPaths(in: session.stderr).count, 1, session.stderr)
    }

    func testARunThatSawNoAllocationSaysSo() throws {
        let run = try finalSnapshot(["/bin/true"])
        XCTAssertEqual(SwiftLeakCLI.int(run.header["allocations"]), 0)
        let lines = run.run.stderr.split(separator: "\n").filter { $0.contains("holds no allocation") }
        XCTAssertEqual(lines.count, 1, run.run.stderr)
    }

    func testExitStatusThroughAnExecIsTheProgramsOwn() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", try makeShim(), TestEnvironment.fixture("leaky"), "bad-usage"])
        XCTAssertEqual(run.status, 2, run.stderr)
    }

    /// "worker I pid P leaked N blocks of S bytes" (and the grandchild's line), by pid.
    private struct Leak: Equatable {
        var function: String
        var blocks: Int64
        var size: Int64
    }

    private func reportedLeaks(_ stdout: String) -> [Int32: Leak] {
        var leaks: [Int32: Leak] = [:]
        for line in stdout.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.first == "worker", words.count == 10, let pid = Int32(words[3]), let blocks = Int64(words[5]), let size = Int64(words[8]) {
                leaks[pid] = Leak(function: "worker_leak", blocks: blocks, size: size)
            }
            if words.first == "grandchild", words.count == 9, let pid = Int32(words[2]), let blocks = Int64(words[4]), let size = Int64(words[7]) {
                leaks[pid] = Leak(function: "grandchild_leak", blocks: blocks, size: size)
            }
        }
        return leaks
    }

    /// The leak sites of the final snapshot in `directory` (exactly one final there).
    private func leakSites(in directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Leak] {
        let finals = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix("-final.swleak") }
        XCTAssertEqual(finals.count, 1, "final snapshots in \(directory): \(finals)", file: file, line: line)
        let path = directory + "/" + (try XCTUnwrap(finals.first, file: file, line: line))
        var sites: [String: Leak] = [:]
        for stat in SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", path, "--group-by", "function"], file: file, line: line)) {
            guard let function = SwiftLeakCLI.function(stat), function.hasSuffix("_leak") else { continue }
            sites[function] = Leak(function: function, blocks: SwiftLeakCLI.int(stat["count"]) ?? -1, size: (SwiftLeakCLI.int(stat["size"]) ?? -1) / max(1, SwiftLeakCLI.int(stat["count"]) ?? 1))
        }
        return sites
    }

    func testFollowForksGivesEachWorkerASessionWithItsExactLeak() throws {
        try checkFourWorkers(exitMode: [])
    }

    func testFollowForksSeesEverythingOfWorkersThatLeaveWithUnderscoreExit() throws {
        try checkFourWorkers(exitMode: ["_exit"])
    }

    private func checkFourWorkers(exitMode: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--follow-forks", "--output", output, "--", TestEnvironment.fixture("forker"), "4"] + exitMode)
        XCTAssertEqual(run.status, 0, run.stderr)
        let leaks = reportedLeaks(run.stdout)
        XCTAssertEqual(leaks.count, 4, run.stdout)
        XCTAssertEqual(Set(leaks.values.map(\.blocks)), [25, 50, 75, 100])

        let children = try FileManager.default.contentsOfDirectory(atPath: output).compactMap { Int32($0) }
        XCTAssertEqual(Set(children), Set(leaks.keys), "one session directory per worker")
        for (pid, leak) in leaks {
            XCTAssertEqual(try leakSites(in: "\(output)/\(pid)"), [leak.function: leak], "worker pid \(pid)")
            XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.contains("following pid \(pid) (") }.count, 1, run.stderr)
            XCTAssertEqual(run.stderr.split(separator: "\n").filter { $0.contains("pid \(pid) exited; its final snapshot written: \(output)/\(pid)/") }.count, 1, run.stderr)
        }
        // The parent's own session: its leak, none of the workers'.
        XCTAssertEqual(try leakSites(in: output), ["parent_leak": Leak(function: "parent_leak", blocks: 7, size: 777)])
    }

    func testFollowForksFollowsGrandchildren() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--follow-forks", "--output", output, "--", TestEnvironment.fixture("forker"), "2", "nested"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let leaks = reportedLeaks(run.stdout)
        let grandchild = try XCTUnwrap(leaks.first { $0.value.function == "grandchild_leak" }, run.stdout)
        XCTAssertEqual(grandchild.value, Leak(function: "grandchild_leak", blocks: 5, size: 5555))
        XCTAssertEqual(try leakSites(in: "\(output)/\(grandchild.key)"), ["grandchild_leak": grandchild.value])
        let worker0 = try XCTUnwrap(leaks.first { $0.value.blocks == 25 }?.key, run.stdout)
        XCTAssertTrue(run.stderr.contains("following pid \(grandchild.key) ("), run.stderr)
        XCTAssertTrue(run.stderr.contains("a child of pid \(worker0);"), run.stderr)
    }

    func testWithoutFollowForksChildrenAreNotTraced() throws {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("forker"), "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(reportedLeaks(run.stdout).count, 4, run.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: output).compactMap { Int32($0) }, [])
        XCTAssertEqual(try leakSites(in: output), ["parent_leak": Leak(function: "parent_leak", blocks: 7, size: 777)])
        XCTAssertFalse(run.stderr.contains("following pid"), run.stderr)
    }
}
