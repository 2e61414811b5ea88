import Glibc
import LeakProc
import XCTest
@testable import LeakInject

/// Every refusal names the problem, and leaves the would-be target as it was.
final class RefusalTests: XCTestCase {
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
        let child = try ChildProcess(maker)
        defer { child.terminate() }
        let line = try child.waitForReady(prefix: "zombie ")
        let zombie = try XCTUnwrap(Int32(line.dropFirst("zombie ".count)), line)
        // The child exits at once; wait (1 s at most) until the kernel shows it as a zombie.
        let deadline = Date(timeIntervalSinceNow: 1)
        while (try? String(contentsOfFile: "/proc/\(zombie)/status", encoding: .utf8))?.contains("State:\tZ") != true {
            guard Date() < deadline else { return XCTFail("pid \(zombie), the fixture's exited child, was no zombie after 1 s") }
            usleep(2000)
        }
        XCTAssertThrowsError(try Injector.preflight(pid: zombie)) { error in
            XCTAssertEqual(error as? InjectError, .zombie(pid: zombie))
            print("refusal: \(error)")
        }
    }

    func testRefusesStaticallyLinkedProgram() throws {
        // Debian's libc6-dev ships the static glibc this needs.
        let path = try Fixtures.build("reader-static", Fixtures.reader, flags: ["-static", "-pthread"])
        let child = try ChildProcess.started(path)
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
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }
        let tracer = try ChildProcess.started(tracerPath, ["\(child.pid)"], expecting: "traced")
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
        let child = try ChildProcess.started(spinner)
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

    /// kthreadd is pid 2 outside a pid namespace; preflight reads /proc
    /// only, it never ptraces.
    func testRefusesKernelThread() throws {
        let stat = try XCTUnwrap(ProcStat.read("/proc/2/stat"),
                                 "no pid 2 in /proc: run the tests outside a pid namespace (a container hides kernel threads)")
        XCTAssertNotEqual(stat.flags & ProcStat.kernelThreadFlag, 0,
                          "pid 2 is no kernel thread: run the tests outside a pid namespace")
        XCTAssertThrowsError(try Injector.preflight(pid: 2)) { error in
            XCTAssertEqual(error as? InjectError, .kernelThread(pid: 2))
        }
    }

    func testPreflightDescribesTarget() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }
        let summary = try Injector.preflight(pid: child.pid)
        XCTAssertEqual(summary.name, "reader")
        XCTAssertEqual(summary.exePath, reader)
        XCTAssertEqual(summary.uid, getuid())
        XCTAssertTrue(TargetFilesystem(pid: child.pid).sharesOurRoot)
        XCTAssertEqual(TargetFilesystem(pid: child.pid).hostPath(forTargetPath: "/tmp/x"), "/tmp/x")
    }
}
