import Foundation
import XCTest

/// Proof on a real server: Debian's nginx (nginx-light, stripped, installed
/// by Scripts/setup), started by the test on its own loopback port with its
/// own prefix, config and pid file: a root master and one worker running as
/// www-data. swiftleak attaches, as root, to the idle worker (parked in
/// epoll_wait), and the worker's own allocation sites show up under a
/// bounded load. The root master, idle in rt_sigsuspend, is attached too and
/// keeps handling its signals (reload, quit) while traced and after.
/// Only the test's own pids are ever signalled.
final class NginxAttachTests: XCTestCase {
    private let nginx = "/usr/sbin/nginx"
    private let body = "hello from swiftleak's test\n"
    /// connection_pool_size: every open connection holds one pool of exactly this size.
    private let connectionPool = 512

    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        guard FileManager.default.isExecutableFile(atPath: nginx) else {
            XCTFail("\(nginx) is missing: apt-get install nginx-light (Scripts/setup)")
            throw CancellationError()
        }
    }

    /// A master and its worker, ready to answer on `http.port`.
    private struct Server {
        let master: ChildProcess
        let worker: Int32
        let http: LoopbackHTTP
        let prefix: String
    }

    private func startServer() throws -> Server {
        let prefix = try TestEnvironment.temporaryDirectory()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: prefix) }
        let http = LoopbackHTTP(port: try LoopbackHTTP.freePort())
        let config = """
            user www-data;
            worker_processes 1;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/error.log;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(prefix)/body;
                proxy_temp_path \(prefix)/proxy;
                fastcgi_temp_path \(prefix)/fastcgi;
                uwsgi_temp_path \(prefix)/uwsgi;
                scgi_temp_path \(prefix)/scgi;
                keepalive_timeout 300s;
                keepalive_requests 100000;
                connection_pool_size \(connectionPool);
                server {
                    listen 127.0.0.1:\(http.port);
                    location / { default_type text/plain; return 200 "\(body.replacingOccurrences(of: "\n", with: "\\n"))"; }
                }
            }
            """
        try config.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        let master = try ChildProcess(nginx, ["-p", prefix + "/", "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf", "-g", "daemon off;"])
        addTeardownBlock { if master.process.isRunning { master.signal(SIGKILL) } }
        // Ready when it answers (a deadline, no sleep), and its worker is there.
        let deadline = Date(timeIntervalSinceNow: 20)
        while !http.getOnce(expecting: body) {
            guard master.process.isRunning, Date() < deadline else {
                XCTFail("nginx did not answer on 127.0.0.1:\(http.port) within 20 s: \(master.stderr) \((try? String(contentsOfFile: prefix + "/error.log", encoding: .utf8)) ?? "")")
                throw CancellationError()
            }
            usleep(20_000)
        }
        let worker = try XCTUnwrap(ProcessTree.descendant(of: master.pid, named: "nginx"), "nginx's worker")
        addTeardownBlock { kill(worker, SIGKILL) }
        return Server(master: master, worker: worker, http: http, prefix: prefix)
    }

    /// "attached to PID (nginx) in N ms": N.
    private func attachMilliseconds(_ session: AttachedSession) throws -> Double {
        let line = try session.process.waitForLine(containing: "attached to \(session.pid)", onStderr: true)
        let words = line.split(separator: " ")
        let index = try XCTUnwrap(words.firstIndex(of: "ms;"), line)
        return try XCTUnwrap(Double(words[index - 1]), line)
    }

    func testNginxWorkerOfAnotherUserUnderLoad() throws {
        let server = try startServer()
        let wwwData = try XCTUnwrap(getpwnam("www-data")?.pointee.pw_uid)
        XCTAssertEqual(ProcessTree.uid(server.master.pid), 0)
        XCTAssertEqual(ProcessTree.uid(server.worker), wwwData, "the worker runs as www-data")

        // Idle: attach and detach, then attach again for the measured load.
        let first = try AttachedSession(server.master, pid: server.worker)
        let firstMilliseconds = try attachMilliseconds(first)
        _ = try first.detach()
        TargetProc.waitUntilAgentIdle(server.worker)
        let session = try AttachedSession(server.master, pid: server.worker)
        let secondMilliseconds = try attachMilliseconds(session)
        // How fast is Scripts/bench's to say (its idle-server row), not a timed test's.
        print("attach to an idle nginx worker: \(firstMilliseconds) ms, again after a detach: \(secondMilliseconds) ms")
        let idle = try session.snapshot()

        // Load: `connections` keep-alive connections, each answering
        // `requests` requests, all kept open.
        let connections = 100, requests = 3
        var open: [Int32] = []
        defer { open.forEach { close($0) } }
        var answered = 0
        for _ in 0..<connections {
            let fd = try XCTUnwrap(server.http.connect(), "nginx accepts a connection")
            open.append(fd)
            for _ in 0..<requests where server.http.get(fd, expecting: body) { answered += 1 }
        }
        XCTAssertEqual(answered, connections * requests, "every request is answered")
        let loaded = try session.snapshot()

        // What stays is one connection pool per open connection, allocated in
        // nginx itself (ngx_memalign, its nearest exported symbol), and nothing else.
        let growth = try SwiftLeakCLI.diff(idle, loaded, groupBy: "function")
        let grown = growth.filter { (SwiftLeakCLI.int($0["count_diff"]) ?? 0) != 0 }
        XCTAssertEqual(grown.count, 1, "\(grown)")
        let top = try XCTUnwrap(grown.first)
        XCTAssertEqual(SwiftLeakCLI.frame0(top)["module"] as? String, nginx, "\(top)")
        XCTAssertEqual(SwiftLeakCLI.function(top), "ngx_memalign", "\(top)")
        XCTAssertEqual(SwiftLeakCLI.int(top["count_diff"]), Int64(connections))
        XCTAssertEqual(SwiftLeakCLI.int(top["size_diff"]), Int64(connections * connectionPool))

        // Closed connections give their pools back: nginx frees them as it
        // sees each end of stream, so poll (with a deadline) until it has.
        open.forEach { close($0) }
        open = []
        let deadline = Date(timeIntervalSinceNow: 20)
        var remaining: Int64?
        repeat {
            let now = try session.snapshot()
            let pools = SwiftLeakCLI.stat(try SwiftLeakCLI.diff(idle, now, groupBy: "function"), function: "ngx_memalign")
            // A site back to where it was has no row in the diff.
            remaining = pools.map { SwiftLeakCLI.int($0["count_diff"]) } ?? 0
        } while remaining != 0 && Date() < deadline
        XCTAssertEqual(remaining, 0, "every connection pool is freed once its connection closed")

        // Detach: the worker is untraced, its hooks are off, and it still answers.
        _ = try session.detach()
        XCTAssertEqual(TargetProc.tracerPID(server.worker), 0)
        TargetProc.waitUntilAgentIdle(server.worker)
        var after = 0
        for _ in 0..<50 where server.http.getOnce(expecting: body) { after += 1 }
        XCTAssertEqual(after, 50, "nginx answers every request after the detach")

        server.master.signal(SIGQUIT)
        XCTAssertEqual(try server.master.wait(timeout: 30), 0, server.master.stderr)
        print("nginx worker attach: \(firstMilliseconds) ms, \(secondMilliseconds) ms")
    }

    /// `nginx -s reload` against the test's own server: the master re-reads
    /// its config on SIGHUP and replaces `old` by a new worker, returned once
    /// it answers (a deadline, no sleep).
    private func reload(_ server: Server, replacing old: Int32) throws -> Int32 {
        let signaller = try ChildProcess(nginx, ["-p", server.prefix + "/", "-c", server.prefix + "/nginx.conf", "-s", "reload"])
        XCTAssertEqual(try signaller.wait(timeout: 30), 0, signaller.stderr)
        let deadline = Date(timeIntervalSinceNow: 20)
        while true {
            if let worker = ProcessTree.descendant(of: server.master.pid, named: "nginx"), worker != old,
               kill(old, 0) != 0 || ProcessTree.status(old, "State").first == "Z" {
                addTeardownBlock { kill(worker, SIGKILL) }
                if server.http.getOnce(expecting: body) { return worker }
            }
            guard Date() < deadline else {
                XCTFail("nginx did not replace worker \(old) within 20 s of a reload: \((try? String(contentsOfFile: server.prefix + "/error.log", encoding: .utf8)) ?? "")")
                throw CancellationError()
            }
            usleep(20_000)
        }
    }

    func testNginxRootMasterInSigsuspendThroughReloads() throws {
        let server = try startServer()
        XCTAssertEqual(ProcessTree.uid(server.master.pid), 0)
        // The master's only thread waits for signals in rt_sigsuspend (130).
        let deadline = Date(timeIntervalSinceNow: 20)
        while ServerThreads.states(server.master.pid).map(\.call) != ["130"] {
            guard Date() < deadline else { return XCTFail("nginx's master never sat in rt_sigsuspend") }
            usleep(10_000)
        }
        let session = try AttachedSession(server.master, pid: server.master.pid)
        let idle = try session.snapshot()

        // A reload while attached: the master handles SIGHUP, parses its
        // config again in its own pools and starts a new worker.
        let second = try reload(server, replacing: server.worker)
        let reloaded = try session.snapshot()
        let growth = try SwiftLeakCLI.diff(idle, reloaded, groupBy: "function")
        let inNginx = growth.filter {
            (SwiftLeakCLI.int($0["count_diff"]) ?? 0) > 0 && SwiftLeakCLI.frame0($0)["module"] as? String == nginx
        }
        XCTAssertFalse(inNginx.isEmpty, "the reload's allocations in nginx itself: \(growth)")

        // Detach: untraced, and it still reloads, answers and quits cleanly.
        _ = try session.detach()
        XCTAssertEqual(TargetProc.tracerPID(server.master.pid), 0)
        TargetProc.waitUntilAgentIdle(server.master.pid)
        _ = try reload(server, replacing: second)
        var after = 0
        for _ in 0..<20 where server.http.getOnce(expecting: body) { after += 1 }
        XCTAssertEqual(after, 20, "nginx answers every request after the detach")
        server.master.signal(SIGQUIT)
        XCTAssertEqual(try server.master.wait(timeout: 30), 0, server.master.stderr)
    }
}
