import Glibc
import XCTest

/// A process started by a test, with its stdin and stdout on pipes: the
/// readiness handshake is a line the child prints, never a sleep.
final class ChildProcess {
    let pid: pid_t
    /// The program's file name, for failure messages.
    let name: String
    private let stdinFD: Int32
    private let stdoutFD: Int32
    private var buffer: [UInt8] = []
    private var reaped = false
    private var closed = false
    private(set) var exitStatus: Int32?

    /// Starts `path args...`; stderr goes to stdout so compiler errors show.
    init(_ path: String, _ args: [String] = []) throws {
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        // Close-on-exec, so no child (nor the cc runs) holds another one's pipes.
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, environ)
        close(input[0])
        close(output[1])
        guard rc == 0 else {
            close(input[1]); close(output[0])
            throw POSIXError(.init(rawValue: rc) ?? .EIO)
        }
        pid = child
        name = String(path.split(separator: "/").last ?? Substring(path))
        stdinFD = input[1]
        stdoutFD = output[0]
    }

    /// Starts `path args...` and waits for its readiness line (one starting
    /// with `prefix`). A fixture that does not get there fails the test with
    /// what it printed and how it ended: never a skip.
    static func started(_ path: String, _ args: [String] = [], expecting prefix: String = "ready") throws -> ChildProcess {
        let child = try ChildProcess(path, args)
        try child.waitForReady(prefix: prefix)
        return child
    }

    /// Waits for the readiness line and returns it; on anything else the
    /// child is killed and `FixtureDidNotStart` thrown.
    @discardableResult
    func waitForReady(prefix: String = "ready", timeout: Double = 10) throws -> String {
        let line = readLine(timeout: timeout)
        if let line, line.hasPrefix(prefix) { return line }
        // A fixture that gave up usually said why on its way out.
        var output = line.map { [$0] } ?? []
        while output.count < 20, let more = readLine(timeout: 0.5) { output.append(more) }
        let status = exitStatus ?? reap(timeout: 0.5)
        terminate()
        throw FixtureDidNotStart(name: name, prefix: prefix, timeout: timeout, exitStatus: status, output: output)
    }

    /// The next line of output without its newline, or nil at EOF/timeout.
    func readLine(timeout: Double = 10) -> String? {
        let deadline = now() + timeout
        while true {
            if let nl = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<nl], as: UTF8.self)
                buffer.removeSubrange(...nl)
                return line
            }
            let left = deadline - now()
            if left <= 0 { return nil }
            var fds = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            if poll(&fds, 1, Int32(left * 1000) + 1) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(stdoutFD, &chunk, chunk.count)
            if n <= 0 {
                // End of output: a last line without its newline, then nil.
                defer { buffer.removeAll() }
                return buffer.isEmpty ? nil : String(decoding: buffer, as: UTF8.self)
            }
            buffer += chunk[0..<n]
        }
    }

    /// Everything up to EOF (for compiler output).
    func readAll(timeout: Double = 60) -> String {
        var lines: [String] = []
        while let line = readLine(timeout: timeout) { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    func writeLine(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
    }

    /// Waits for the exit; returns the exit code (128+signal when killed).
    /// A child still running at the deadline fails the test.
    @discardableResult
    func waitExit(timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
        if let status = reap(timeout: timeout) { return status }
        XCTFail("\(name) (pid \(pid)) did not exit within \(timeout) s", file: file, line: line)
        return nil
    }

    /// The exit code once the child has exited, nil if it still runs at the deadline.
    private func reap(timeout: Double) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = now() + timeout
        while now() < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                reaped = true
                let signal = status & 0x7f
                exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
                return exitStatus
            }
            if r < 0 { reaped = true; return nil }
            usleep(2000)
        }
        return nil
    }

    /// True while the process exists and is not a zombie or stopped.
    var isRunningNormally: Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(close, offsetBy: 2)]
        return state == "R" || state == "S"
    }

    func tracerPID() -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("TracerPid:") {
            return Int32(line.dropFirst("TracerPid:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Kills and reaps the child (tests call it in defer); calling it again does nothing.
    func terminate() {
        if !reaped && exitStatus == nil {
            kill(pid, SIGKILL)
            _ = reap(timeout: 5)
        }
        guard !closed else { return }
        closed = true
        close(stdinFD)
        close(stdoutFD)
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A fixture that ended, hung or printed something else before its readiness line.
struct FixtureDidNotStart: Error, CustomStringConvertible {
    var name: String
    var prefix: String
    var timeout: Double
    /// nil: it was still running (and was killed).
    var exitStatus: Int32?
    var output: [String]

    var description: String {
        let ending = exitStatus.map { "it exited with status \($0)" } ?? "it was still running after \(timeout) s"
        let said = output.isEmpty ? "it printed nothing" : "it printed:\n" + output.joined(separator: "\n")
        return "fixture \(name) did not become ready (no line starting with \"\(prefix)\"): \(ending); \(said)"
    }
}
