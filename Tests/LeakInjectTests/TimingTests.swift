import Glibc
import XCTest
@testable import LeakInject

/// What an attach costs, repeated so one slow run does not decide.
final class TimingTests: XCTestCase {
    func testAttachCostBreakdown() throws {
        let program = try Fixtures.program("sleeper-loop", Fixtures.sleepLoop)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(program)
        defer { child.terminate() }

        func ms(_ seconds: Double) -> String { String(format: "%.3f", seconds * 1000) }
        var t = Clock.now()
        _ = try Injector.preflight(pid: child.pid)
        print("preflight \(ms(Clock.now() - t)) ms")
        t = Clock.now()
        _ = try TargetLibc.resolve(pid: child.pid, maps: try ProcMaps.read(pid: child.pid).get())
        print("libc symbols \(ms(Clock.now() - t)) ms")

        var pauses: [Double] = [], elapsed: [Double] = []
        for i in 0..<8 {
            let socket = "\(Fixtures.directory)/timing-\(i)"
            let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: socket))
            // From the second attach on, poll() resumes through restart_syscall.
            XCTAssertEqual(report.syscallName, i == 0 ? "poll" : "restart_syscall (poll)")
            pauses.append(report.pauseSeconds)
            elapsed.append(report.elapsedSeconds)
        }
        print("attach x8 pause ms: \(pauses.map(ms).joined(separator: " "))")
        print("attach x8 elapsed ms: \(elapsed.map(ms).joined(separator: " "))")
        child.writeLine("done")
        XCTAssertEqual(child.readLine(), "got done")
        XCTAssertEqual(child.waitExit(), 0)
    }
}
