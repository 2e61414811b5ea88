import Foundation
import XCTest

extension XCTestCase {
    /// A process started by the test itself, to be attached to: waits for its
    /// "ready" line before returning (the readiness handshake). Killed at the
    /// end of the test if still there, so a failed test leaves nothing running.
    func startTarget(_ executable: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ChildProcess {
        let target = try ChildProcess(executable, arguments)
        addTeardownBlock { if target.process.isRunning { target.signal(SIGKILL) } }
        try target.waitForLine(containing: "ready", file: file, line: line)
        return target
    }
}

/// Sends `work N` and waits for its `done N` (counting earlier `done N` lines, so repeats work).
func work(_ target: ChildProcess, _ units: Int, file: StaticString = #filePath, line: UInt = #line) throws {
    let previous = target.stdout.split(separator: "\n").count
    target.send("work \(units)")
    try target.waitForLine(containing: "done \(units)", after: previous, timeout: 30, file: file, line: line)
}

/// One `swiftleak attach PID --output DIR` run as a child of the test.
final class AttachedSession {
    let target: ChildProcess
    /// The attached process: `target` itself, or a process it started (in a container).
    let pid: Int32
    let process: ChildProcess
    let output: String

    /// Starts the attach (with `options`, e.g. `--sample-bytes`) and waits for its "attached to" line.
    init(_ target: ChildProcess, pid: Int32? = nil, options: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        self.target = target
        let pid = pid ?? target.pid
        self.pid = pid
        output = try TestEnvironment.temporaryDirectory()
        let process = try ChildProcess(TestEnvironment.binary, ["attach", "\(pid)", "--output", output] + options)
        self.process = process
        try process.waitForLine(containing: "attached to \(pid)", onStderr: true, timeout: 30, file: file, line: line)
    }

    /// `swiftleak snapshot PID`: returns the path it printed (checked to exist).
    func snapshot(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Self.request("snapshot", pid: pid, file: file, line: line)
    }

    /// `swiftleak detach PID`: returns the final snapshot's path; the attach process must then exit 0.
    func detach(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = try Self.request("detach", pid: pid, file: file, line: line)
        XCTAssertEqual(try process.wait(timeout: 30, file: file, line: line), 0, process.stderr, file: file, line: line)
        XCTAssertEqual(process.stderrLines(containing: "final snapshot written").count, 1, process.stderr, file: file, line: line)
        return path
    }

    func kill9() {
        process.signal(SIGKILL)
        _ = try? process.wait(timeout: 10)
    }

    static func request(_ command: String, pid: Int32, file: StaticString, line: UInt) throws -> String {
        let result = try runToCompletion(TestEnvironment.binary, [command, "\(pid)"], timeout: 60)
        XCTAssertEqual(result.status, 0, "swiftleak \(command) \(pid): \(result.stderr)", file: file, line: line)
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "no snapshot at \"\(path)\"; stderr: \(result.stderr)", file: file, line: line)
        return path
    }
}

/// Facts about a test's own target process read from /proc.
enum TargetProc {
    static func tracerPID(_ pid: Int32) -> Int32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("TracerPid:") }
        return line.flatMap { Int32($0.dropFirst("TracerPid:".count).trimmingCharacters(in: .whitespaces)) }
    }

    /// How many copies of `library` the process has mapped: each copy maps
    /// the file once at offset 0 (its further segments come at other offsets).
    static func copiesMapped(_ pid: Int32, library: String) -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return 0 }
        return maps.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            return fields.count >= 6 && fields[5].hasSuffix("/" + library) && Int(fields[2], radix: 16) == 0
        }.count
    }

    /// Names of the process's threads.
    static func threadNames(_ pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Waits (polling /proc, with a deadline) until the agent's thread, named
    /// "swiftleak", is gone: it exits only after it put the GOT slots back,
    /// so this is the agent's own word that the hooks are off.
    static func waitUntilAgentIdle(_ pid: Int32, timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while threadNames(pid).contains("swiftleak") {
            if Date() > deadline {
                XCTFail("the agent thread in \(pid) is still running \(timeout) s after its swiftleak went away", file: file, line: line)
                return
            }
            usleep(10_000)
        }
    }
}

/// Reading `diff --format json` results.
extension SwiftLeakCLI {
    static func diff(_ old: String, _ new: String, groupBy: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String: Any]] {
        stats(try json(["diff", old, new, "--group-by", groupBy], file: file, line: line))
    }

    static func stat(_ stats: [[String: Any]], function name: String) -> [String: Any]? {
        stats.first { function($0) == name }
    }
}

/// Runs a short command with its output in files instead of pipes. With
/// several children alive (a target, an attach session), a pipe of a short
/// command sometimes never showed end-of-file to `ChildProcess` after the
/// command had exited (this process itself still held a write end), and the
/// test hung; files have no end-of-file to wait for.
func runToCompletion(_ executable: String, _ arguments: [String], timeout: Double = 60,
                     file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = try TestEnvironment.temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/stdout", errPath = directory + "/stderr"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    try? out.close()
    try? err.close()
    let deadline = Date(timeIntervalSinceNow: timeout)
    while process.isRunning {
        if Date() > deadline {
            process.terminate()
            XCTFail("\(executable) \(arguments.joined(separator: " ")) did not exit in \(timeout) s", file: file, line: line)
            throw CancellationError()
        }
        usleep(5_000)
    }
    let text = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return (process.terminationStatus, text(outPath), text(errPath))
}
