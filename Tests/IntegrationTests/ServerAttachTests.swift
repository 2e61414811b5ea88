import Foundation
import XCTest

/// Attach to real event-loop servers these tests start themselves, idle
/// (every thread in epoll_wait or futex), then under a bounded loopback load:
/// attach, snapshot, load, snapshot, detach. Every request is answered, the
/// server still answers after the detach and exits 0 when asked, and the
/// diff names the server's own leak with exact counts.
final class ServerAttachTests: XCTestCase {
    /// Requests between the two snapshots; warm-up requests before the first.
    private let requests = 1000
    private let warmUp = 20

    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// asyncio on Debian's own CPython 3.11. Ground truth: each "session"
    /// keeps bytes(1024), over pymalloc's 512-byte limit, so it is one calloc
    /// of sys.getsizeof(bytes(1024)) bytes (the server prints that number),
    /// always from the same native call stack (CPython 3.11 runs nested
    /// Python calls in one C frame; asyncio's task step is the same C path
    /// for every request). The dict's table grows at another site and the
    /// replies and ints are pymalloc objects, which the agent does not see.
    /// So the biggest traceback of the diff grew by exactly N blocks of
    /// exactly that size: N requests -> N blocks.
    func testIdleAsyncioServer() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            XCTFail("\(python) is missing: apt-get install python3 (Scripts/setup)")
            return
        }
        let (server, first, second) = try attachSnapshotLoadSnapshotDetach {
            try self.startServer(python, [TestEnvironment.packageRoot + "/Tests/Fixtures/asyncio_server.py"], sizeField: "payload")
        }

        let stats = try SwiftLeakCLI.diff(first, second, groupBy: "traceback")
        let top = try XCTUnwrap(stats.first)
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(requests), "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["size_diff"]), Int64(requests * server.leakSize), "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["count"]), Int64(warmUp + requests), "the warm-up's payloads were traced too")
        // The payload's Python line, read from the live interpreter (Debian's
        // stripped python3.11 too), heads the traceback, then its callers.
        let traceback = top["traceback"] as? [[String: Any]] ?? []
        let functions = traceback.compactMap { $0["function"] as? String }
        XCTAssertEqual(Array(functions.prefix(2)), ["remember_session", "serve_connection"], "\(functions)")
        let source = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/asyncio_server.py", encoding: .utf8)
        let payloadLine = source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("= bytes(1024)") }.map { $0 + 1 }
        XCTAssertEqual(SwiftLeakCLI.int(traceback.first?["line"]), payloadLine.map(Int64.init), "\(traceback.first ?? [:])")
        XCTAssertTrue((traceback.first?["file"] as? String)?.hasSuffix("asyncio_server.py") == true, "\(traceback.first ?? [:])")
    }

    /// SwiftNIO (2 event-loop threads; the main thread waits on a futex).
    /// Ground truth: each "session" calls makeSessionRecord, which allocates
    /// one record of the size the server prints, kept forever; the array that
    /// holds them grows at another function.
    func testIdleSwiftNIOServer() throws {
        let (server, first, second) = try attachSnapshotLoadSnapshotDetach {
            try self.startServer(TestEnvironment.fixture("NIOServer"), [], sizeField: "record")
        }

        let stats = try SwiftLeakCLI.diff(first, second, groupBy: "function")
        let top = try XCTUnwrap(stats.first)
        XCTAssertEqual(SwiftLeakCLI.function(top), "NIOServer.makeSessionRecord(Swift.Int) -> Swift.UnsafeMutableRawPointer", "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(requests), "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["size_diff"]), Int64(requests * server.leakSize), "\(stats.prefix(3))")
        XCTAssertEqual(SwiftLeakCLI.int(top["count"]), Int64(warmUp + requests))
    }

    private struct Server {
        let process: ChildProcess
        let port: UInt16
        /// Bytes of one leaked object, as the server itself reports it.
        let leakSize: Int
    }

    /// Starts a server and reads "ready <port> <sizeField> <bytes>".
    private func startServer(_ executable: String, _ arguments: [String], sizeField: String,
                             file: StaticString = #filePath, line: UInt = #line) throws -> Server {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            XCTFail("\(executable) is missing: run Scripts/build-fixtures", file: file, line: line)
            throw CancellationError()
        }
        let process = try startTarget(executable, arguments, file: file, line: line)
        let ready = try XCTUnwrap(process.stdout.split(separator: "\n").first { $0.hasPrefix("ready ") }, file: file, line: line)
        let words = ready.split(separator: " ")
        guard words.count == 4, words[2] == sizeField, let port = UInt16(words[1]), let size = Int(words[3]) else {
            XCTFail("readiness line \"\(ready)\" is not \"ready <port> \(sizeField) <bytes>\"", file: file, line: line)
            throw CancellationError()
        }
        return Server(process: process, port: port, leakSize: size)
    }

    /// Attaches once to a freshly started idle server (every thread in
    /// epoll_wait or futex) and prints how long the attach took; its speed
    /// is measured by Scripts/bench (the idle asyncio server row), not here.
    private func attachToIdle(_ start: () throws -> Server,
                              file: StaticString = #filePath, line: UInt = #line) throws -> (Server, AttachedSession) {
        let server = try start()
        let calls = ServerThreads.waitUntilIdle(server.process.pid, file: file, line: line)
        XCTAssertTrue(calls.contains { $0.hasPrefix("epoll") }, "an event loop waits in epoll: \(calls)", file: file, line: line)
        let session = try AttachedSession(server.process, file: file, line: line)
        let milliseconds = try XCTUnwrap(session.attachMilliseconds, session.process.stderr, file: file, line: line)
        print("attach to idle \(server.process.process.executableURL?.lastPathComponent ?? "?") \(server.process.pid): \(milliseconds) ms")
        return (server, session)
    }

    /// The whole life of one attach to an idle server; returns the server
    /// and the two snapshots around the load. Checks that every request was
    /// answered, that the server answers after the detach and that it exits
    /// 0 on "quit".
    private func attachSnapshotLoadSnapshotDetach(_ start: () throws -> Server,
                                                  file: StaticString = #filePath, line: UInt = #line) throws -> (Server, String, String) {
        let (server, session) = try attachToIdle(start, file: file, line: line)
        let pid = server.process.pid
        XCTAssertEqual(TargetProc.tracerPID(pid), 0, "no thread stays ptrace-stopped", file: file, line: line)

        // The warm-up lets the server's lazily made buffers exist before the first snapshot.
        try expectAllAnswered(sendSessionRequests(port: server.port, requests: warmUp, connections: 1), warmUp, file: file, line: line)
        let first = try session.snapshot(file: file, line: line)
        try expectAllAnswered(sendSessionRequests(port: server.port, requests: requests), requests, file: file, line: line)
        let second = try session.snapshot(file: file, line: line)
        _ = try session.detach(file: file, line: line)
        TargetProc.waitUntilAgentIdle(pid, file: file, line: line)

        let client = try LineClient(port: server.port)
        XCTAssertEqual(try client.request("count"), "held \(warmUp + requests)", "answers after the detach", file: file, line: line)
        XCTAssertEqual(try client.request("session"), "ok \(warmUp + requests + 1)", file: file, line: line)
        try quit(server, client: client, file: file, line: line)
        return (server, first, second)
    }

    /// "quit" must be answered "bye" and the server must then exit 0.
    private func quit(_ server: Server, client: LineClient? = nil, file: StaticString, line: UInt) throws {
        XCTAssertEqual(try (client ?? LineClient(port: server.port)).request("quit"), "bye", file: file, line: line)
        XCTAssertEqual(try server.process.wait(timeout: 30, file: file, line: line), 0, server.process.stderr, file: file, line: line)
    }

    private func expectAllAnswered(_ load: (answered: Int, error: String?), _ requests: Int, file: StaticString, line: UInt) throws {
        XCTAssertNil(load.error, file: file, line: line)
        XCTAssertEqual(load.answered, requests, "requests answered", file: file, line: line)
        if load.answered != requests { throw CancellationError() }
    }
}
