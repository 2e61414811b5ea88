import Glibc
import XCTest
@testable import LeakInject

/// swiftleak killed (SIGKILL: nothing of ours runs any more, the kernel just
/// detaches) at every moment of an injection must never take the target
/// down: the borrowed thread restores itself (SelfRestore) and its read()
/// goes on as if nothing happened.
final class KillDuringInjectionTests: XCTestCase {
    /// The injector process the test kills: Tests/Fixtures/KillableInjector,
    /// built next to this test binary.
    private static let injector: String = {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        let binary = length > 0 ? String(cString: path) : CommandLine.arguments[0]
        let directory = binary.lastIndex(of: "/").map { String(binary[..<$0]) } ?? "."
        return directory + "/KillableInjector"
    }()

    private struct InjectorTrouble: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the injector against `target` and waits for its "go", printed right before the attach.
    private func startInjector(target: Int32, agent: String, socket: String) throws -> ChildProcess {
        guard access(Self.injector, X_OK) == 0 else {
            throw InjectorTrouble(description: "\(Self.injector) is missing: run `swift build --build-tests` (Scripts/test does)")
        }
        return try ChildProcess.started(Self.injector, ["\(target)", agent, socket], expecting: "go")
    }

    /// A reader; without a quiet signal it catches every signal that does
    /// nothing by default, so the injector must do without one.
    private func startReader(_ path: String, quietSignal: Bool) throws -> ChildProcess {
        let reader = try ChildProcess.started(path, quietSignal ? [] : ["catch-ignored-signals"])
        let status = (try? String(contentsOfFile: "/proc/\(reader.pid)/status", encoding: .utf8)) ?? ""
        func mask(_ field: String) -> UInt64? {
            status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { UInt64($0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        let found = SelfRestore.quietSignal(caught: mask("SigCgt") ?? 0, blocked: mask("SigBlk") ?? 0)
        if quietSignal {
            XCTAssertNotEqual(found, 0, "the reader should leave the injector a quiet signal")
        } else {
            XCTAssertEqual(found, 0, "the reader should leave the injector no quiet signal: it had \(found)")
        }
        return reader
    }

    /// One injection left alone, into a fresh reader that must go on after
    /// it: seconds from "go" to its end, and how long the thread was held.
    private func uninterruptedInjection(reader: String, agent: String, socket: String,
                                        quietSignal: Bool) throws -> (duration: Double, pause: Double) {
        let target = try startReader(reader, quietSignal: quietSignal)
        defer { target.terminate() }
        let injector = try startInjector(target: target.pid, agent: agent, socket: socket)
        let outcome = injector.readLine(timeout: 30)
        injector.terminate()
        let fields = outcome?.split(separator: " ") ?? []
        guard fields.count == 3, fields[0] == "done", let duration = Double(fields[1]), let pause = Double(fields[2]) else {
            throw InjectorTrouble(description: "an uninterrupted injection did not succeed: \(outcome ?? "no answer in 30 s")")
        }
        target.writeLine("x")
        XCTAssertEqual(target.readLine()?.hasPrefix("got x "), true, "the target of an uninterrupted injection goes on")
        return (duration, pause)
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

        // A quarter of the kills from 0 to 1.25 x the length of an injection
        // (before, during and after), the rest spread over the time the
        // thread is held: in every remote call, between calls, during the
        // restore and the detach. That length is measured again before every
        // kill: on a loaded machine it drifts from one second to the next.
        let trials = 40, spread = 10
        var survived = 0, killedWhileTraced = 0
        var durations: [Double] = [], pauses: [Double] = []
        for i in 0..<trials {
            let (duration, pause) = try uninterruptedInjection(reader: reader, agent: agent, socket: "\(Fixtures.directory)/measure-\(i)",
                                                               quietSignal: quietSignal)
            durations.append(duration)
            pauses.append(pause)
            let heldFrom = max(0, duration - pause * 1.1)
            let delay = i < spread ? duration * 1.25 * Double(i) / Double(spread - 1)
                : heldFrom + pause * 1.2 * Double(i - spread) / Double(trials - spread - 1)
            let target = try startReader(reader, quietSignal: quietSignal)
            defer { target.terminate() }
            let socket = "\(Fixtures.directory)/kill-\(i)"
            let injector = try startInjector(target: target.pid, agent: agent, socket: socket)
            Clock.sleep(seconds: delay)
            if target.tracerPID() == injector.pid { killedWhileTraced += 1 }
            kill(injector.pid, SIGKILL)
            injector.terminate()

            // The kernel detached (within 1 s); the target must be whole and its read() alive.
            let deadline = Clock.now() + 1
            while target.tracerPID() != 0 && Clock.now() < deadline { usleep(1000) }
            XCTAssertEqual(target.tracerPID(), 0, "trial \(i): still traced 1 s after the injector was killed")
            XCTAssertTrue(target.isRunningNormally, "trial \(i) (kill after \(delay * 1000) ms): target not running")
            target.writeLine("alive \(i)")
            let line = target.readLine(timeout: 5)
            let ok = line?.hasPrefix("got alive \(i) spins ") == true && line?.hasSuffix(" usr1 0") == true
            XCTAssertTrue(ok, "trial \(i) (kill after \(String(format: "%.3f", delay * 1000)) ms): \(line ?? "no answer")")
            let status = target.waitExit()
            XCTAssertEqual(status, 0, "trial \(i): exit status")
            if ok && status == 0 { survived += 1 }
        }
        func median(_ values: [Double]) -> String { String(format: "%.3f", values.sorted()[values.count / 2] * 1000) }
        print("uninterrupted injections: median \(median(durations)) ms, of which the target thread was held \(median(pauses)) ms")
        print("kill during injection (\(quietSignal ? "quiet signal" : "syscall tracing")): \(trials) trials, \(killedWhileTraced) killed while the target was traced, \(survived) survived")
        XCTAssertEqual(survived, trials)
        XCTAssertGreaterThanOrEqual(killedWhileTraced, trials / 8, "too few kills landed inside the ptrace window to test it")
    }
}
