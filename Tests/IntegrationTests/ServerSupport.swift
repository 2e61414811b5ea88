import Foundation
import XCTest

/// One TCP connection to a line-based test server on 127.0.0.1: a request
/// is a line, its answer is a line. Every read and write has a deadline
/// (socket timeouts), so a server that stops answering fails the test.
final class LineClient {
    private let fd: Int32
    private var buffered: [UInt8] = []

    init(port: UInt16, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LineClientError("socket: \(String(cString: strerror(errno)))") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = String(cString: strerror(errno))
            close(fd)
            throw LineClientError("connect to 127.0.0.1:\(port): \(error)")
        }
    }

    deinit {
        close(fd)
    }

    /// Sends `line` and returns the answer line (without its newline).
    func request(_ line: String) throws -> String {
        var bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeMutableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LineClientError("send \"\(line)\": \(String(cString: strerror(errno)))") }
            sent += count
        }
        bytes = []
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let answer = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return answer
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw LineClientError("no answer to \"\(line)\": \(count == 0 ? "the server closed the connection" : String(cString: strerror(errno)))")
            }
            buffered += chunk[..<count]
        }
    }
}

struct LineClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A bounded load from the test: `requests` "session" requests spread over
/// `connections` concurrent connections. Returns how many were answered
/// "ok <n>", and the first error seen.
func sendSessionRequests(port: UInt16, requests: Int, connections: Int = 4) -> (answered: Int, error: String?) {
    let lock = NSLock()
    var answered = 0
    var firstError: String?
    DispatchQueue.concurrentPerform(iterations: connections) { index in
        let share = requests / connections + (index < requests % connections ? 1 : 0)
        var mine = 0
        var failure: String?
        do {
            let client = try LineClient(port: port)
            for _ in 0..<share {
                let answer = try client.request("session")
                guard answer.hasPrefix("ok ") else { failure = "answer \"\(answer)\" to \"session\""; break }
                mine += 1
            }
        } catch {
            failure = "\(error)"
        }
        lock.lock()
        answered += mine
        if firstError == nil { firstError = failure }
        lock.unlock()
    }
    return (answered, firstError)
}

/// What a server's threads are blocked in, read from /proc without stopping it.
enum ServerThreads {
    /// x86_64 numbers of the calls an idle event-loop server waits in.
    static let idleCalls: [Int: String] = [202: "futex", 232: "epoll_wait", 281: "epoll_pwait", 441: "epoll_pwait2"]

    /// Each thread's name and the first field of its /proc syscall file
    /// (a call number, "running", or -1 for a thread in user space).
    static func states(_ pid: Int32) -> [(name: String, call: String)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.map { task in
            let base = "/proc/\(pid)/task/\(task)/"
            let read = { (file: String) in (try? String(contentsOfFile: base + file, encoding: .utf8)) ?? "" }
            let call = read("syscall").split(separator: " ").first.map(String.init) ?? "gone"
            return (read("comm").trimmingCharacters(in: .whitespacesAndNewlines), call)
        }
    }

    /// Waits (with a deadline) until every thread waits in epoll_wait or
    /// futex: the idle server the attach is meant for. Returns the calls seen.
    @discardableResult
    static func waitUntilIdle(_ pid: Int32, timeout: Double = 10, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while true {
            let seen = states(pid)
            let calls = seen.compactMap { Int($0.call).flatMap { idleCalls[$0] } }
            if !seen.isEmpty && calls.count == seen.count { return calls }
            if Date() > deadline {
                XCTFail("pid \(pid) is not idle after \(timeout) s (threads and calls: \(seen))", file: file, line: line)
                return calls
            }
            usleep(10_000)
        }
    }
}

extension AttachedSession {
    /// The attach time from "attached to PID (name) in X ms; ...".
    var attachMilliseconds: Double? {
        guard let line = process.stderrLines(containing: "attached to \(target.pid)").first,
              let clause = line.split(separator: ";").first else { return nil }
        let words = clause.split(separator: " ")
        guard words.count >= 3, words[words.count - 3] == "in", words.last == "ms" else { return nil }
        return Double(words[words.count - 2])
    }
}
