import Glibc
import XCTest
@testable import LeakInject

/// Idle event loops (redis, nginx, asyncio) sit in epoll_wait: an attach
/// borrows that thread, the wait ends once with EINTR (see
/// SyscallTable.interruptible), and the loop goes on answering.
final class EventLoopTests: XCTestCase {
    func testAttachMidEpollWaitKeepsTheLoopAnswering() throws {
        let program = try SourceFixtures.program("epoll_loop")
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        for (call, timeout) in [("epoll_wait", "-1"), ("epoll_pwait", "-1"), ("epoll_pwait2", "-1"), ("epoll_wait", "60000")] {
            let child = try ChildProcess.started(program, [call, timeout])
            defer { child.terminate() }
            let socket = "\(Fixtures.directory)/loop-\(call)-\(UInt32.random(in: 0...UInt32.max))"
            let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: socket))
            print(String(format: "attach into %@ (timeout %@ ms): elapsed %.3f ms, pause %.3f ms",
                         call, timeout, report.elapsedSeconds * 1000, report.pauseSeconds * 1000))
            XCTAssertEqual(report.syscallName, call)
            XCTAssertEqual(report.threadID, child.pid)
            XCTAssertEqual(try String(contentsOfFile: socket + ".called", encoding: .utf8), "\(socket)\n32\nno-spinners\n",
                           "the agent ran in the borrowed thread")
            XCTAssertEqual(child.tracerPID(), 0, "detached")

            // The request goes through the socketpair and back through epoll.
            child.writeLine("ping")
            XCTAssertEqual(child.readLine(), "pong ping eintr 1", "\(call): exactly one wait ended with EINTR")
            child.writeLine("again")
            XCTAssertEqual(child.readLine(), "pong again eintr 1", "\(call): the loop kept waiting normally")
            child.writeLine("quit")
            XCTAssertEqual(child.waitExit(), 0)
        }
    }

    /// The real agent into an idle epoll server: the whole attach (scan,
    /// dlopen of the agent and libunwind, the agent's start) within 50 ms.
    func testIdleEpollServerAttachesWithin50ms() throws {
        let program = try SourceFixtures.program("epoll_loop")
        let agent = try SourceFixtures.realAgent.get()
        var elapsed: [Double] = []
        for _ in 0..<5 {
            let child = try ChildProcess.started(program, ["epoll_wait", "-1"])
            defer { child.terminate() }
            let listener = try AgentListener(name: "loop")
            let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: listener.path))
            elapsed.append(report.elapsedSeconds)
            XCTAssertEqual(report.syscallName, "epoll_wait")
            XCTAssertEqual(listener.acceptHello(), "SWLKEVT1", "the agent connected and said hello")
            child.writeLine("ping")
            XCTAssertEqual(child.readLine(), "pong ping eintr 1")
            child.writeLine("quit")
            XCTAssertEqual(child.waitExit(), 0)
        }
        let sorted = elapsed.sorted()
        print("real agent into an idle epoll loop, elapsed ms: "
              + elapsed.map { String(format: "%.1f", $0 * 1000) }.joined(separator: " "))
        XCTAssertLessThan(sorted[sorted.count / 2], 0.050, "median attach latency")
    }

    /// Threads that only wait on futexes are never borrowed; the refusal
    /// names each thread's wait and what would help.
    func testFutexOnlyProcessIsRefusedWithWhatEachThreadDoes() throws {
        let program = try Fixtures.program("futex-pool", Self.futexPool)
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let child = try ChildProcess.started(program)
        defer { child.terminate() }
        XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                               socketPathInTarget: "/tmp/unused", timeout: 0.3))) { error in
            guard case InjectError.onlyLockWaits(let pid, _, let threads) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(pid, child.pid)
            XCTAssertTrue(threads.hasPrefix("4 futex (threads "), threads)
            XCTAssertTrue(threads.contains(" \(child.pid)"), threads)
            XCTAssertTrue("\(error)".contains("swiftleak run"), "\(error)")
            print("refusal: \(error)")
        }
        XCTAssertEqual(child.tracerPID(), 0)
        XCTAssertTrue(child.isRunningNormally)
    }

    /// An idle pool: three workers wait on a condition variable, main joins.
    static let futexPool = #"""
    #include <pthread.h>
    #include <stdio.h>
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    static int started;
    static void *worker(void *arg) {
        (void)arg;
        pthread_mutex_lock(&mu);
        started++;
        pthread_cond_broadcast(&cv);
        for (;;) pthread_cond_wait(&cv, &mu);
    }
    int main(void) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, NULL);
        pthread_mutex_lock(&mu);
        while (started < 3) pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        printf("ready\n");
        fflush(stdout);
        pthread_join(t[0], NULL);
        return 0;
    }
    """#
}
