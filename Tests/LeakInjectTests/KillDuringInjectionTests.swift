import Glibc
import XCTest
@testable import LeakInject

/// swiftleak killed (SIGKILL: nothing of ours runs any more, the kernel just
/// detaches) at every moment of an injection must never take the target
/// down: the borrowed thread restores itself (SelfRestore) and its read()
/// goes on as if nothing happened.
final class KillDuringInjectionTests: XCTestCase {
    private static let helperPID = "SWIFTLEAK_TEST_INJECT_PID"
    private static let helperAgent = "SWIFTLEAK_TEST_INJECT_AGENT"
    private static let helperSocket = "SWIFTLEAK_TEST_INJECT_SOCKET"
    private static let helperNoQuietSignal = "SWIFTLEAK_TEST_INJECT_NO_QUIET_SIGNAL"

    /// Not a test on its own: the injecting child process of
    /// testTargetSurvivesInjectorKilledAtAnyMoment (this test binary run
    /// again with just this test). Prints "go" right before the attach.
    func testInjectionHelperProcess() throws {
        guard let pidText = getenv(Self.helperPID), let pid = Int32(String(cString: pidText)),
              let agent = getenv(Self.helperAgent), let socket = getenv(Self.helperSocket) else { return }
        if getenv(Self.helperNoQuietSignal) != nil { SelfRestore.quietSignalCandidates = [] }
        print("go")
        fflush(stdout)
        do {
            let report = try Injector.attach(AttachRequest(pid: pid, agentPath: String(cString: agent),
                                                  socketPathInTarget: String(cString: socket), frames: 16, timeout: 5))
            print("done \(report.elapsedSeconds) \(report.pauseSeconds)")
        } catch {
            print("failed: \(error)")
        }
        fflush(stdout)
    }

    private func startHelper(target: Int32, agent: String, socket: String, quietSignal: Bool) throws -> ChildProcess {
        if !quietSignal { setenv(Self.helperNoQuietSignal, "1", 1) }
        defer { unsetenv(Self.helperNoQuietSignal) }
        setenv(Self.helperPID, "\(target)", 1)
        setenv(Self.helperAgent, agent, 1)
        setenv(Self.helperSocket, socket, 1)
        defer { unsetenv(Self.helperPID); unsetenv(Self.helperAgent); unsetenv(Self.helperSocket) }
        let binary = CommandLine.arguments[0]
        let helper = try ChildProcess(binary, ["LeakInjectTests.KillDuringInjectionTests/testInjectionHelperProcess"])
        while let line = helper.readLine(timeout: 30) {
            if line == "go" { return helper }
        }
        helper.terminate()
        throw XCTSkip("the injecting helper did not start")
    }

    private func startReader(_ path: String) throws -> ChildProcess {
        let child = try ChildProcess(path)
        guard child.readLine() == "ready" else {
            child.terminate()
            throw XCTSkip("fixture \(path) did not become ready")
        }
        return child
    }

    /// The stub reports through a signal the program ignores (SIGURG here).
    func testTargetSurvivesInjectorKilledAtAnyMoment() throws {
        try killAtEveryMoment(quietSignal: true)
    }

    /// The program catches every candidate signal: the stub's rt_sigreturn
    /// is caught under PTRACE_SYSCALL instead.
    func testTargetSurvivesInjectorKilledAtAnyMomentTracingSyscalls() throws {
        try killAtEveryMoment(quietSignal: false)
    }

    private func killAtEveryMoment(quietSignal: Bool) throws {
        signal(SIGPIPE, SIG_IGN) // a dead target must fail the assertions, not the test run
        let reader = try Fixtures.program("reader", Fixtures.reader)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)

        // How long an uninterrupted injection takes, from "go".
        let calibrationTarget = try startReader(reader)
        defer { calibrationTarget.terminate() }
        let calibration = try startHelper(target: calibrationTarget.pid, agent: agent,
                                          socket: "\(Fixtures.directory)/kill-calibrate", quietSignal: quietSignal)
        let result = calibration.readLine(timeout: 30)?.split(separator: " ") ?? []
        calibration.terminate()
        XCTAssertEqual(result.first, "done")
        let duration = result.count == 3 ? Double(result[1]) ?? 0.01 : 0.01
        let pause = result.count == 3 ? Double(result[2]) ?? 0 : 0
        calibrationTarget.writeLine("x")
        XCTAssertEqual(calibrationTarget.readLine()?.hasPrefix("got x "), true)
        print(String(format: "uninterrupted injection: %.3f ms, of which the target thread was held %.3f ms",
                     duration * 1000, pause * 1000))

        // A quarter of the kills from 0 to 1.25 x that (before, during and
        // after), the rest spread over the time the thread is held: in every
        // remote call, between calls, during the restore and the detach.
        let trials = 40, spread = 10
        let heldFrom = max(0, duration - pause * 1.1)
        var survived = 0, killedWhileTraced = 0
        for i in 0..<trials {
            let target = try startReader(reader)
            defer { target.terminate() }
            let socket = "\(Fixtures.directory)/kill-\(i)"
            let delay = i < spread ? duration * 1.25 * Double(i) / Double(spread - 1)
                : heldFrom + pause * 1.2 * Double(i - spread) / Double(trials - spread - 1)
            let helper = try startHelper(target: target.pid, agent: agent, socket: socket, quietSignal: quietSignal)
            Clock.sleep(seconds: delay)
            if target.tracerPID() == helper.pid { killedWhileTraced += 1 }
            kill(helper.pid, SIGKILL)
            helper.terminate()

            // The kernel detached; the target must be whole and its read() alive.
            var waited = 0
            while target.tracerPID() != 0 && waited < 1000 { usleep(1000); waited += 1 }
            XCTAssertEqual(target.tracerPID(), 0, "trial \(i): still traced")
            XCTAssertTrue(target.isRunningNormally, "trial \(i) (kill after \(delay * 1000) ms): target not running")
            target.writeLine("alive \(i)")
            let line = target.readLine(timeout: 5)
            let ok = line?.hasPrefix("got alive \(i) spins ") == true && line?.hasSuffix(" usr1 0") == true
            XCTAssertTrue(ok, "trial \(i) (kill after \(String(format: "%.3f", delay * 1000)) ms): \(line ?? "no answer")")
            let status = target.waitExit()
            XCTAssertEqual(status, 0, "trial \(i): exit status")
            if ok && status == 0 { survived += 1 }
        }
        print("kill during injection (\(quietSignal ? "quiet signal" : "syscall tracing")): \(trials) trials, \(killedWhileTraced) killed while the target was traced, \(survived) survived")
        XCTAssertEqual(survived, trials)
        XCTAssertGreaterThanOrEqual(killedWhileTraced, trials / 8, "too few kills landed inside the ptrace window to test it")
    }
}
