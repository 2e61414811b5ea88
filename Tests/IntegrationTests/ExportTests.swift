import Foundation
import XCTest

/// `export` and `push` end to end: profiles of the leaky fixture read back by
/// `go tool pprof` (Debian's golang-go), growth that matches `diff`, pushes to
/// a Pyroscope stand-in on loopback, and push failures that stay one line.
/// leaky.c's ground truth: make_session_record leaks one 4001-byte block per unit.
final class ExportTests: XCTestCase {
    let leakSize = 4001

    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    /// A final snapshot of `leaky batch UNITS 2`.
    func leakySnapshot(units: Int) throws -> String {
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", TestEnvironment.fixture("leaky"), "batch", "\(units)", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
    }

    func export(_ arguments: [String]) throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/out"
        let result = try runCommand(TestEnvironment.binary, ["export"] + arguments + ["-o", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        return path
    }

    // MARK: pprof

    func testGoToolPprofShowsTheLeakSiteOnTheTopRow() throws {
        let units = 300
        let profile = try export([try leakySnapshot(units: units), "--format", "pprof"])
        let rows = try Pprof.top(["-sample_index=inuse_space", "-unit=B", profile])
        XCTAssertEqual(rows.first?.name, "make_session_record", "\(rows)")
        XCTAssertEqual(rows.first?.flat, Int64(units * leakSize), "\(rows)")
        // Cumulative counts: the fixture's freed transient allocations show
        // under alloc_space but hold nothing live.
        let allocated = try Pprof.top(["-sample_index=alloc_objects", profile])
        XCTAssertEqual(allocated.first { $0.name == "make_session_record" }?.flat, Int64(units), "\(allocated)")
        let transient = try XCTUnwrap(allocated.first { $0.name == "transient_work" }, "\(allocated)")
        XCTAssertGreaterThan(transient.flat, Int64(units))
        XCTAssertNil(rows.first { $0.name == "transient_work" && $0.flat != 0 }, "\(rows)")

        // The program's mapping comes first and names its build ID, as readelf reads it.
        let notes = try runCommand("/usr/bin/readelf", ["-n", TestEnvironment.fixture("leaky")])
        let buildID = try XCTUnwrap(notes.stdout.split(separator: "\n").first { $0.contains("Build ID:") }?
            .split(separator: " ").last.map(String.init), notes.stdout)
        let raw = try runCommand("/usr/bin/go", ["tool", "pprof", "-raw", profile])
        let mappings = raw.stdout.components(separatedBy: "Mappings\n").last ?? ""
        XCTAssertTrue(mappings.hasPrefix("1: ") && mappings.split(separator: "\n")[0].contains("/leaky \(buildID) "), mappings)
    }

    func testDiffBaseAndTheGrowthProfileGiveDiffsFigures() throws {
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "2"])
        let session = try AttachedSession(target)
        defer { if session.process.process.isRunning { session.kill9() } }
        try work(target, 50)
        let old = try session.snapshot()
        try work(target, 200)
        let new = try session.snapshot()
        _ = try session.detach()

        let diff = try SwiftLeakCLI.diff(old, new, groupBy: "function")
        var expected: [String: Int64] = [:]
        for stat in diff {
            guard let name = SwiftLeakCLI.function(stat), let change = SwiftLeakCLI.int(stat["size_diff"]), change != 0 else { continue }
            expected[name, default: 0] += change
        }
        XCTAssertEqual(expected["make_session_record"], Int64(200 * leakSize), "\(diff)")

        let oldProfile = try export([old, "--format", "pprof"])
        let newProfile = try export([new, "--format", "pprof"])
        let growth = try export([new, old, "--format", "pprof"])
        for arguments in [["-diff_base", oldProfile, newProfile], [growth]] {
            let rows = try Pprof.top(["-unit=B", "-nodefraction=0"] + arguments)
            var flat: [String: Int64] = [:]
            for row in rows where row.flat != 0 { flat[row.name, default: 0] += row.flat }
            XCTAssertEqual(flat, expected, "go tool pprof -top \(arguments.joined(separator: " "))")
        }
    }

    // MARK: collapsed and speedscope

    func testCollapsedAndSpeedscopeCarryTheLeak() throws {
        let units = 120
        let snapshot = try leakySnapshot(units: units)
        let collapsed = try String(contentsOfFile: try export([snapshot, "--format", "collapsed"]), encoding: .utf8)
        let leakLine = try XCTUnwrap(collapsed.split(separator: "\n").first { $0.contains(";make_session_record ") }, collapsed)
        XCTAssertTrue(leakLine.hasSuffix(";store_session;make_session_record \(units * leakSize)"), String(leakLine))

        let json = try Data(contentsOf: URL(fileURLWithPath: try export([snapshot, "--format", "speedscope"])))
        let file = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        XCTAssertEqual(file["$schema"] as? String, "https://www.speedscope.app/file-format-schema.json")
        let frames = try XCTUnwrap((file["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        let profile = try XCTUnwrap((file["profiles"] as? [[String: Any]])?.first)
        let samples = try XCTUnwrap(profile["samples"] as? [[Int]])
        let weights = try XCTUnwrap(profile["weights"] as? [Int])
        let leak = try XCTUnwrap(samples.indices.first { frames[samples[$0].last!]["name"] as? String == "make_session_record" })
        XCTAssertEqual(weights[leak], units * leakSize)
        XCTAssertEqual(profile["unit"] as? String, "bytes")
    }

    // MARK: push

    /// A Pyroscope stand-in on loopback: logs each request's path and query
    /// and keeps its body; answers 400 for the service "rejected" and not at
    /// all (for a minute) for the service "slow".
    final class IngestStub {
        let process: ChildProcess
        let directory: String
        let port: Int

        init() throws {
            directory = try TestEnvironment.temporaryDirectory()
            let script = """
            import http.server, sys, time, urllib.parse
            directory = sys.argv[1]
            count = 0
            class Handler(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_POST(self):
                    global count
                    if "slow" in self.path:
                        time.sleep(60)
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    count += 1
                    open(f"{directory}/body-{count}", "wb").write(body)
                    with open(f"{directory}/requests", "a") as log:
                        log.write(self.path + "\\n")
                    rejected = "rejected" in urllib.parse.unquote(self.path)
                    answer = b"unknown service\\n" if rejected else b""
                    self.send_response(400 if rejected else 200)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
            print("ready", server.server_address[1], flush=True)
            server.serve_forever()
            """
            let server = try ChildProcess("/usr/bin/python3", ["-c", script, directory])
            process = server
            try server.waitForLine(containing: "ready", timeout: 30)
            let line = try XCTUnwrap(server.stdout.split(separator: "\n").first { $0.hasPrefix("ready") })
            port = try XCTUnwrap(Int(line.split(separator: " ")[1]))
        }

        var url: String { "http://127.0.0.1:\(port)" }

        var requests: [String] {
            ((try? String(contentsOfFile: directory + "/requests", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func stop() {
            process.signal(SIGKILL)
            _ = try? process.wait(timeout: 10)
        }
    }

    func testPushSendsPprofThePyroscopeWay() throws {
        let units = 80
        let snapshot = try leakySnapshot(units: units)
        let stub = try IngestStub()
        defer { stub.stop() }
        let push = try runCommand(TestEnvironment.binary, ["push", snapshot, "--to", stub.url, "--service", "checkout", "--label", "region=eu", "--label", "tier=web"])
        XCTAssertEqual(push.status, 0, push.stderr)

        let request = try XCTUnwrap(stub.requests.first, "the stub got no request; swiftleak said: \(push.stderr)")
        let components = try XCTUnwrap(URLComponents(string: request))
        XCTAssertEqual(components.path, "/ingest")
        let query = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        XCTAssertEqual(query["name"], "checkout{region=eu,tier=web}")
        XCTAssertEqual(query["format"], "pprof")
        let time = try XCTUnwrap(SwiftLeakCLI.int((try SwiftLeakCLI.json(["stats", snapshot])["snapshot"] as? [String: Any])?["time_ns"]))
        XCTAssertEqual(query["from"], query["until"])
        XCTAssertEqual(query["until"].flatMap { Int64($0) }, time / 1_000_000_000, request)

        let rows = try Pprof.top(["-sample_index=inuse_space", "-unit=B", stub.directory + "/body-1"])
        XCTAssertEqual(rows.first?.name, "make_session_record", "\(rows)")
        XCTAssertEqual(rows.first?.flat, Int64(units * leakSize))

        let refused = try runCommand(TestEnvironment.binary, ["push", snapshot, "--to", stub.url, "--service", "rejected"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("HTTP 400") && refused.stderr.contains("unknown service"), refused.stderr)

        let slow = try runCommand(TestEnvironment.binary, ["push", snapshot, "--to", stub.url, "--service", "slow", "--timeout", "1s"], timeout: 30)
        XCTAssertEqual(slow.status, 1, slow.stderr)
        XCTAssertEqual(slow.stderr.split(separator: "\n").count, 1, slow.stderr)
        XCTAssertTrue(slow.stderr.contains("timed out"), slow.stderr)
    }

    func testAnUnreachableServerIsOneLineAndAnExitCode() throws {
        let snapshot = try leakySnapshot(units: 10)
        let stub = try IngestStub()
        let closed = stub.url
        stub.stop()  // nothing listens on its port any more
        let push = try runCommand(TestEnvironment.binary, ["push", snapshot, "--to", closed, "--service", "checkout"])
        XCTAssertEqual(push.status, 1, push.stderr)
        XCTAssertEqual(push.stderr.split(separator: "\n").count, 1, push.stderr)
        XCTAssertTrue(push.stderr.contains("connection refused"), push.stderr)
    }

    func testAttachPushesEachPeriodicSnapshot() throws {
        let stub = try IngestStub()
        defer { stub.stop() }
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "2"])
        try work(target, 30)
        let output = try TestEnvironment.temporaryDirectory()
        let attach = try ChildProcess(TestEnvironment.binary, ["attach", "\(target.pid)", "--output", output, "--every", "200ms",
                                                               "--push", stub.url, "--push-service", "leaky-svc", "--push-label", "host=a"])
        defer { if attach.process.isRunning { attach.signal(SIGKILL) } }
        try attach.waitForLine(containing: "attached to \(target.pid)", onStderr: true, timeout: 30)
        try work(target, 25)
        // A push may be in flight with a snapshot from before the work ended;
        // pushes never overlap, so the one after it holds a later snapshot.
        let wanted = stub.requests.count + 2
        let deadline = Date(timeIntervalSinceNow: 30)
        while stub.requests.count < wanted {
            guard Date() < deadline else { return XCTFail("\(wanted) pushes expected within 30 s; got \(stub.requests); \(attach.stderr)") }
            usleep(20_000)
        }
        // The HTTP client (FoundationNetworking, curl, TLS) lives in swiftleak-post, never in the tracing process.
        let maps = try String(contentsOfFile: "/proc/\(attach.pid)/maps", encoding: .utf8)
        XCTAssertFalse(maps.contains("FoundationNetworking") || maps.contains("libcurl"), "the tracing process mapped the HTTP client")
        _ = try AttachedSession.request("detach", pid: target.pid, file: #filePath, line: #line)
        XCTAssertEqual(try attach.wait(timeout: 30), 0, attach.stderr)
        let query = try XCTUnwrap(URLComponents(string: stub.requests[wanted - 1])?.queryItems)
        XCTAssertEqual(query.first { $0.name == "name" }?.value, "leaky-svc{host=a}")
        // Attached after 30 units: only the 25 units since are traced.
        let rows = try Pprof.top(["-sample_index=inuse_objects", stub.directory + "/body-\(wanted)"])
        XCTAssertEqual(rows.first { $0.name == "make_session_record" }?.flat, 25, "\(rows)")
    }

    func testAMissingPosterIsOneLineAndAnExitCode() throws {
        let snapshot = try leakySnapshot(units: 10)
        let missing = try TestEnvironment.temporaryDirectory() + "/no-such-poster"
        let push = try runCommand("/usr/bin/env", ["SWIFTLEAK_POST=\(missing)", TestEnvironment.binary, "push", snapshot,
                                                   "--to", "http://127.0.0.1:9", "--service", "checkout"])
        XCTAssertEqual(push.status, 1, push.stderr)
        XCTAssertEqual(push.stderr.split(separator: "\n").count, 1, push.stderr)
        XCTAssertTrue(push.stderr.contains("SWIFTLEAK_POST=\(missing) does not exist"), push.stderr)
    }

    func testAttachWithPushTracesOnWhenTheServerIsGone() throws {
        let stub = try IngestStub()
        let closed = stub.url
        stub.stop()
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "2"])
        let output = try TestEnvironment.temporaryDirectory()
        let attach = try ChildProcess(TestEnvironment.binary, ["attach", "\(target.pid)", "--output", output,
                                                               "--every", "200ms", "--push", closed])
        defer { if attach.process.isRunning { attach.signal(SIGKILL) } }
        try attach.waitForLine(containing: "attached to \(target.pid)", onStderr: true, timeout: 30)
        try attach.waitForLines(containing: "push failed, tracing goes on", count: 2, onStderr: true, timeout: 30)
        try work(target, 40)
        let final = try AttachedSession.request("detach", pid: target.pid, file: #filePath, line: #line)
        XCTAssertEqual(try attach.wait(timeout: 30), 0, attach.stderr)
        let rows = try Pprof.top(["-sample_index=inuse_objects", try export([final, "--format", "pprof"])])
        XCTAssertEqual(rows.first { $0.name == "make_session_record" }?.flat, 40, "\(rows)")
        for line in attach.stderrLines(containing: "push failed") {
            XCTAssertTrue(line.contains("connection refused"), line)
        }
    }
}

/// `go tool pprof -top`, its rows read back.
enum Pprof {
    struct Row: CustomStringConvertible {
        var flat: Int64
        var name: String
        var description: String { "\(name) \(flat)" }
    }

    static func top(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [Row] {
        let result = try runCommand("/usr/bin/go", ["tool", "pprof", "-top", "-symbolize=none"] + arguments)
        XCTAssertEqual(result.status, 0, "go tool pprof: \(result.stderr)", file: file, line: line)
        var rows: [Row] = []
        var inTable = false
        for text in result.stdout.split(separator: "\n") {
            if text.contains("flat%") { inTable = true; continue }
            guard inTable else { continue }
            let fields = text.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, let flat = number(fields[0]) else { continue }
            rows.append(Row(flat: flat, name: String(fields[5].drop { $0 == " " })))
        }
        return rows
    }

    /// "800200B", "-4001B", "300", "0".
    static func number(_ text: Substring) -> Int64? {
        Int64(text.hasSuffix("B") ? text.dropLast() : text)
    }
}
