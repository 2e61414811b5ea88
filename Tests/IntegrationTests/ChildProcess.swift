import Foundation
import XCTest

/// A process a test started, with its stdin writable and its stdout/stderr
/// collected line by line, so a test can wait for a readiness line (the
/// handshake) instead of sleeping.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let condition = NSCondition()
    private var stdoutText = ""
    private var stderrText = ""
    private var stdoutClosed = false
    private var stderrClosed = false

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        collect(output.fileHandleForReading, isError: false)
        collect(errors.fileHandleForReading, isError: true)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { condition.withLock { stdoutText } }
    var stderr: String { condition.withLock { stderrText } }

    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for a line on stdout (or stderr) containing `text`; returns that line.
    @discardableResult
    func waitForLine(containing text: String, onStderr: Bool = false, after previous: Int = 0, timeout: Double = 60,
                     file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try waitForLines(containing: text, count: 1, onStderr: onStderr, after: previous, timeout: timeout, file: file, line: line)[0]
    }

    /// Waits until `count` complete lines on stdout (or stderr), after its
    /// first `previous` lines, contain `text`; returns the first `count` of them.
    @discardableResult
    func waitForLines(containing text: String, count: Int, onStderr: Bool = false, after previous: Int = 0, timeout: Double = 60,
                      file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let closed = onStderr ? stderrClosed : stdoutClosed
            // A line still being written is not complete until its newline (or the end of the output).
            let lines = (onStderr ? stderrText : stdoutText).split(separator: "\n", omittingEmptySubsequences: false)
            let complete = closed ? lines[...] : lines.dropLast()
            let matches = complete.dropFirst(previous).filter { $0.contains(text) }
            if matches.count >= count {
                return matches.prefix(count).map(String.init)
            }
            if closed || !condition.wait(until: deadline) {
                let wanted = count == 1 ? "no line" : "\(matches.count) of \(count) lines"
                let why = closed ? "before it closed" : "within \(timeout) s"
                XCTFail("\(wanted) containing \"\(text)\" on \(onStderr ? "stderr" : "stdout") \(why); stdout:\n\(stdoutText)\nstderr:\n\(stderrText)",
                        file: file, line: line)
                throw CancellationError()
            }
        }
    }

    /// All lines on stderr containing `text`.
    func stderrLines(containing text: String) -> [String] {
        stderr.split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    /// Waits for the exit and all output; returns the exit status.
    func wait(timeout: Double = 120, file: StaticString = #filePath, line: UInt = #line) throws -> Int32 {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                XCTFail("process did not exit in \(timeout) s; stderr:\n\(stderr)", file: file, line: line)
                throw CancellationError()
            }
            usleep(10_000)
        }
        // A grandchild (the traced target) may hold the pipes open: the
        // deadline bounds this wait too, so a test fails instead of hanging.
        condition.lock()
        while !(stdoutClosed && stderrClosed) {
            if !condition.wait(until: deadline) {
                let errors = stderrText
                condition.unlock()
                XCTFail("process exited but its output pipes stayed open for \(timeout) s (a child of it still runs?); stderr:\n\(errors)", file: file, line: line)
                throw CancellationError()
            }
        }
        condition.unlock()
        return process.terminationStatus
    }

    /// Reads a pipe on a thread of its own with blocking reads until EOF.
    /// Not FileHandle.readabilityHandler: on Linux it sometimes never
    /// delivers the data and the EOF of a short-lived process
    /// (swift-corelibs-foundation issue 3275), and a test then waits out its
    /// deadline on pipes that are already closed.
    private func collect(_ handle: FileHandle, isError: Bool) {
        let thread = Thread { [self, handle] in
            let fd = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                condition.lock()
                if count <= 0 {
                    if isError { stderrClosed = true } else { stdoutClosed = true }
                } else {
                    let text = String(decoding: buffer[..<count], as: UTF8.self)
                    if isError { stderrText += text } else { stdoutText += text }
                }
                condition.broadcast()
                condition.unlock()
                if count <= 0 { return }
            }
        }
        thread.start()
    }
}

/// Runs a command to completion and returns (status, stdout, stderr).
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                timeout: Double = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let child = try ChildProcess(executable, arguments, environment: environment)
    child.closeInput()
    let status = try child.wait(timeout: timeout)
    return (status, child.stdout, child.stderr)
}
