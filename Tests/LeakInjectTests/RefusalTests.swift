import Glibc
import XCTest
@testable import LeakInject

/// Every refusal names the problem, and leaves the would-be target as it was.
final class RefusalTests: XCTestCase {
    private func startReady(_ path: String, _ args: [String] = [], expect: String = "ready") throws -> (ChildProcess, String) {
        let child = try ChildProcess(path, args)
        guard let line = child.readLine(), line.hasPrefix(expect) else {
            child.terminate()
            throw XCTSkip("fixture \(path) did not become ready")
        }
        return (child, line)
    }

    func testRefusesPidThatDoesNotExist() throws {
        // pid_max itself is never handed out.
        let pidMax = Int32((try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 4_194_304
        XCTAssertThrowsError(try Injector.preflight(pid: pidMax)) { error in
            XCTAssertEqual(error as? InjectError, .noSuchProcess(pid: pidMax))
            print("refusal: \(error)")
        }
        XCTAssertThrowsError(try Injector.preflight(pid: 0))
    }

    func testRefusesOwnProcess() {
        XCTAssertThrowsError(try Injector.preflight(pid: getpid())) { error in
            XCTAssertEqual(error as? InjectError, .ownProcess(pid: getpid()))
        }
    }

    func testRefusesZombie() throws {
        let maker = try Fixtures.program("zombie", Fixtures.zombieMaker)
        let (child, line) = try startReady(maker, expect: "zombie ")
        defer { child.terminate() }
        let zombie = Int32(line.dropFirst("zombie ".count))!
        // The child exits at once; wait until the kernel shows it as a zombie.
        for _ in 0..<500 {
            if (try? String(contentsOfFile: "/proc/\(zombie)/status", encoding: .utf8))?.contains("State:\tZ") == true { break }
            usleep(2000)
        }
        XCTAssertThrowsError(try Injector.preflight(pid: zombie)) { error in
            XCTAssertEqual(error as? InjectError, .zombie(pid: zombie))
            print("refusal: \(error)")
        }
    }

    func testRefusesStaticallyLinkedProgram() throws {
        let path: String
        do {
            path = try Fixtures.build("reader-static", Fixtures.reader, flags: ["-static", "-pthread"])
        } catch {
            throw XCTSkip("cc -static failed to link (no static glibc?): \(error)")
        }
        let (child, _) = try startReady(path)
        defer { child.terminate() }
        XCTAssertThrowsError(try Injector.preflight(pid: child.pid)) { error in
            guard case InjectError.staticallyLinked(let pid, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, child.pid)
            print("refusal: \(error)")
        }
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: "/nonexistent",
                                                               socketPathInTarget: "/nonexistent")))
        XCTAssertEqual(child.tracerPID(), 0)
    }

    func testRefusesProcessTracedBySomeoneElse() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let tracerPath = try Fixtures.program("tracer", Fixtures.tracer)
        let (child, _) = try startReady(reader)
        defer { child.terminate() }
        let (tracer, _) = try startReady(tracerPath, ["\(child.pid)"], expect: "traced")
        defer { tracer.terminate() }

        XCTAssertThrowsError(try Injector.preflight(pid: child.pid)) { error in
            XCTAssertEqual(error as? InjectError,
                           .alreadyTraced(pid: child.pid, tracerPID: tracer.pid, tracerName: "tracer"))
            print("refusal: \(error)")
        }
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: "/nonexistent",
                                                               socketPathInTarget: "/x"))) { error in
            guard case InjectError.alreadyTraced = error else { return XCTFail("\(error)") }
        }
    }

    /// A program that never enters a system call offers no safe point: give
    /// up after the timeout, with the target untouched.
    func testNoSafePointInBusyLoop() throws {
        let spinner = try Fixtures.program("spinner", Fixtures.spinner)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let (child, _) = try startReady(spinner)
        defer { child.terminate() }
        let started = Date()
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                               socketPathInTarget: "/tmp/unused", timeout: 0.5))) { error in
            guard case InjectError.noSafePoint(let pid, _, let threads) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, child.pid)
            XCTAssertTrue(threads.contains("running") || threads.contains("not in a system call"), threads)
            print("refusal: \(error)")
        }
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(waited, 0.5)
        XCTAssertLessThan(waited, 2)
        XCTAssertEqual(child.tracerPID(), 0)
        XCTAssertTrue(child.isRunningNormally)
    }

    /// Only when this machine shows kthreadd as pid 2 (not in a pid namespace);
    /// preflight reads /proc only, it never ptraces.
    func testRefusesKernelThread() throws {
        guard let stat = ProcStat.read("/proc/2/stat"), stat.flags & ProcStat.kernelThreadFlag != 0 else {
            throw XCTSkip("no kernel thread visible in this pid namespace")
        }
        XCTAssertThrowsError(try Injector.preflight(pid: 2)) { error in
            XCTAssertEqual(error as? InjectError, .kernelThread(pid: 2))
        }
    }

    func testPreflightDescribesTarget() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let (child, _) = try startReady(reader)
        defer { child.terminate() }
        let summary = try Injector.preflight(pid: child.pid)
        XCTAssertEqual(summary.name, "reader")
        XCTAssertEqual(summary.exePath, reader)
        XCTAssertEqual(summary.uid, getuid())
        XCTAssertTrue(TargetFilesystem(pid: child.pid).sharesOurRoot)
        XCTAssertEqual(TargetFilesystem(pid: child.pid).hostPath(forTargetPath: "/tmp/x"), "/tmp/x")
    }
}
