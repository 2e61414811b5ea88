import Glibc
import XCTest
@testable import LeakInject

/// End-to-end injections into processes the tests start themselves.
final class AttachTests: XCTestCase {
    private func socketPath(_ name: String) -> String {
        let path = "\(Fixtures.directory)/\(name)-\(UInt32.random(in: 0...UInt32.max))"
        unlink(path + ".called")
        return path
    }

    /// The main case: one thread parked in read(), two hammering malloc.
    func testAttachRunsAgentInReaderAndReadRestarts() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }
        let socket = socketPath("sock")

        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                       socketPathInTarget: socket, frames: 48, timeout: 5))
        print(String(format: "attach into reader: elapsed %.3f ms, pause %.3f ms, thread %d in %@",
                     report.elapsedSeconds * 1000, report.pauseSeconds * 1000, report.threadID, report.syscallName))

        XCTAssertEqual(report.pid, child.pid)
        XCTAssertEqual(report.threadID, child.pid, "the main thread is the one in read()")
        XCTAssertEqual(report.syscallName, "read")
        XCTAssertEqual(report.agentPathInTarget, agent)
        XCTAssertEqual(report.processName, "reader")
        XCTAssertGreaterThan(report.pauseSeconds, 0)
        XCTAssertLessThanOrEqual(report.pauseSeconds, report.elapsedSeconds)

        let called = try String(contentsOfFile: socket + ".called", encoding: .utf8)
        XCTAssertEqual(called, "\(socket)\n48\nadvancing\n",
                       "agent got its arguments, and the malloc threads ran while it did")
        XCTAssertEqual(child.tracerPID(), 0, "detached")
        XCTAssertTrue(child.isRunningNormally)

        // The interrupted read() must restart and get this line.
        child.writeLine("hello")
        let line = child.readLine()
        XCTAssertTrue(line?.hasPrefix("got hello spins ") == true, "got \(line ?? "nothing")")
        XCTAssertTrue(line?.hasSuffix(" usr1 0") == true, "no signal appeared from nowhere: \(line ?? "")")
        XCTAssertEqual(child.waitExit(), 0)
    }

    /// Failures inside the target are reported and leave it working; a
    /// later attach into the same process still succeeds.
    func testFailedRemoteCallsLeaveTargetIntact() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let noEntry = try Fixtures.library("libnoentry.so", Fixtures.noEntry)
        let notELF = "\(Fixtures.directory)/not-a-library.so"
        try "just text\n".write(toFile: notELF, atomically: true, encoding: .utf8)
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }

        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: notELF,
                                                               socketPathInTarget: socketPath("a")))) { error in
            guard case InjectError.dlopenFailed(_, let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("not-a-library.so"), message)
            print("dlopen refusal: \(error)")
        }
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: noEntry,
                                                               socketPathInTarget: socketPath("b")))) { error in
            guard case InjectError.agentEntryMissing = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                               socketPathInTarget: socketPath("refuse")))) { error in
            XCTAssertEqual(error as? InjectError, .agentAttachFailed(pid: child.pid, errno: ECONNREFUSED))
            print("agent refusal: \(error)")
        }
        let socket = socketPath("ok")
        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: socket))
        print(String(format: "re-attach after failures: elapsed %.3f ms, pause %.3f ms",
                     report.elapsedSeconds * 1000, report.pauseSeconds * 1000))
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket + ".called"))

        child.writeLine("still alive")
        XCTAssertTrue(child.readLine()?.hasPrefix("got still alive") == true)
        XCTAssertEqual(child.waitExit(), 0)
    }

    /// A signal that reaches the hijacked thread while our call runs in it
    /// is held back, then delivered after detach: the program's handler runs
    /// once, and its SA_RESTART read() goes on.
    func testSignalDuringRemoteCallIsDeliveredAfterDetach() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }
        let socket = socketPath("raise")
        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: socket))
        XCTAssertEqual(report.syscallName, "read")
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket + ".called"))

        child.writeLine("signalled")
        let line = child.readLine() ?? ""
        XCTAssertTrue(line.hasPrefix("got signalled spins "), line)
        XCTAssertTrue(line.hasSuffix(" usr1 1"), "the handler ran exactly once: \(line)")
        XCTAssertEqual(child.waitExit(), 0)
    }

    /// An agent call that never returns is abandoned after the call timeout;
    /// the thread gets its registers back and its read() still works.
    func testHungRemoteCallIsAbandonedAndTargetResumes() throws {
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(reader)
        defer { child.terminate() }
        let saved = Injector.remoteCallTimeout
        Injector.remoteCallTimeout = 0.3
        defer { Injector.remoteCallTimeout = saved }

        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                               socketPathInTarget: socketPath("hang")))) { error in
            XCTAssertEqual(error as? InjectError, .remoteCallTimedOut(function: "swiftleak_agent_attach", seconds: 0.3))
            print("timeout: \(error)")
        }
        XCTAssertEqual(child.tracerPID(), 0)
        child.writeLine("after hang")
        XCTAssertTrue(child.readLine()?.hasPrefix("got after hang") == true)
        XCTAssertEqual(child.waitExit(), 0)
    }

    /// The agent's own nanosleep is interrupted (by a signal the program
    /// ignores) while the program sits in poll(): both resume through the
    /// one per-thread restart_block, so poll must end with EINTR rather than
    /// "restart" the agent's sleep.
    func testClobberedRestartBlockEndsPollWithEINTR() throws {
        let program = try Fixtures.program("pollignore", Fixtures.pollIgnoring)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(program)
        defer { child.terminate() }
        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                       socketPathInTarget: socketPath("clobber")))
        XCTAssertEqual(report.syscallName, "poll")
        XCTAssertEqual(child.readLine(timeout: 5), "poll -1 \(EINTR)")
        XCTAssertEqual(child.waitExit(), 0)
    }

    /// nanosleep is restarted through restart_syscall: the full second must
    /// still be slept, no more, no less.
    func testInterruptedNanosleepKeepsItsDuration() throws {
        let sleeper = try Fixtures.program("sleeper", Fixtures.sleeper)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(sleeper)
        defer { child.terminate() }
        let socket = socketPath("sleep")
        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: socket))
        XCTAssertTrue(["nanosleep", "clock_nanosleep"].contains(report.syscallName), report.syscallName)
        print(String(format: "attach into sleeper: elapsed %.3f ms, pause %.3f ms",
                     report.elapsedSeconds * 1000, report.pauseSeconds * 1000))

        let line = child.readLine() ?? ""
        XCTAssertEqual(child.waitExit(), 0, line)
        let parts = line.split(separator: " ")
        let slept = parts.count > 1 ? Double(parts[1]) ?? 0 : 0
        XCTAssertGreaterThanOrEqual(slept, 0.999, line)
        XCTAssertLessThan(slept, 1.3, line)
    }

    /// A target with another root (chroot, like a container) cannot see our
    /// agent path: it gets a private copy under its own /tmp.
    func testChrootedTargetGetsACopyOfTheAgent() throws {
        // The fixture's chroot(2) needs CAP_SYS_CHROOT: without root this tests nothing, and that must show.
        guard geteuid() == 0 else { return XCTFail("needs root for chroot(2) (CAP_SYS_CHROOT); CI runs the tests as root") }
        let program = try Fixtures.program("chrooted", Fixtures.chrooted)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let root = "\(Fixtures.directory)/root-\(UInt32.random(in: 0...UInt32.max))"
        XCTAssertEqual(mkdir(root, 0o755), 0)
        XCTAssertEqual(mkdir(root + "/tmp", 0o1777), 0)
        let child = try ChildProcess.started(program, [root])
        defer { child.terminate() }

        let filesystem = TargetFilesystem(pid: child.pid)
        XCTAssertFalse(filesystem.sharesOurRoot)
        XCTAssertEqual(filesystem.hostPath(forTargetPath: "/tmp/s"), "/proc/\(child.pid)/root/tmp/s")

        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: "/tmp/s"))
        print(String(format: "attach into chroot: elapsed %.3f ms, pause %.3f ms, agent at %@",
                     report.elapsedSeconds * 1000, report.pauseSeconds * 1000, report.agentPathInTarget))
        XCTAssertEqual(report.agentPathInTarget, "/tmp/swiftleak-agent-\(getuid())/libtestagent.so")
        var info = stat()
        XCTAssertEqual(stat(root + "/tmp/swiftleak-agent-\(getuid())", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertEqual(stat(root + report.agentPathInTarget, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o755)
        let called = try String(contentsOfFile: filesystem.hostPath(forTargetPath: "/tmp/s.called"), encoding: .utf8)
        XCTAssertEqual(called, "/tmp/s\n32\nno-spinners\n")

        child.writeLine("jailed")
        XCTAssertEqual(child.readLine(), "got jailed")
        XCTAssertEqual(child.waitExit(), 0)
    }
}
