import Glibc
import XCTest
@testable import LeakInject

/// The seccomp check: the BPF evaluator on hand-assembled programs, the
/// verdict over a chain of filters, and attaches into processes under real
/// filters that must be refused (and survive) or succeed.
final class SeccompTests: XCTestCase {
    // Classic BPF opcodes, as <linux/filter.h> spells them.
    private let ldAbs: UInt16 = 0x20, ldImm: UInt16 = 0x00, ldxImm: UInt16 = 0x01, ldMem: UInt16 = 0x60
    private let ldxMem: UInt16 = 0x61, st: UInt16 = 0x02, aluAddX: UInt16 = 0x0c, aluDivX: UInt16 = 0x3c
    private let aluAndK: UInt16 = 0x54, tax: UInt16 = 0x07, txa: UInt16 = 0x87
    private let jeq: UInt16 = 0x15, jge: UInt16 = 0x35, jset: UInt16 = 0x45, retK: UInt16 = 0x06, retA: UInt16 = 0x16
    private let allow: UInt32 = 0x7fff_0000, killProcess: UInt32 = 0x8000_0000

    private func errno(_ code: Int32) -> UInt32 { 0x0005_0000 | UInt32(code) }
    private func input(_ nr: UInt32, _ args: [UInt64?] = []) -> SeccompInput {
        SeccompInput(nr: nr, args: (0..<6).map { $0 < args.count ? args[$0] : nil })
    }
    private func outcome(_ value: UInt32?, guessed: Bool = false) -> BPFEvaluator.Outcome {
        .init(value: value, guessed: guessed)
    }

    /// arch check, then kill socket(2), allow the rest.
    private var killSocket: [BPFInstruction] {
        [BPFInstruction(ldAbs, 0, 0, 4), BPFInstruction(jeq, 1, 0, SeccompInput.archX86_64),
         BPFInstruction(retK, 0, 0, killProcess), BPFInstruction(ldAbs, 0, 0, 0),
         BPFInstruction(jeq, 0, 1, 41), BPFInstruction(retK, 0, 0, killProcess), BPFInstruction(retK, 0, 0, allow)]
    }

    private var allowAll: [BPFInstruction] { [BPFInstruction(retK, 0, 0, allow)] }

    /// `number` gets `action`, everything else is allowed.
    private func deny(_ number: UInt32, _ action: UInt32) -> [BPFInstruction] {
        [BPFInstruction(ldAbs, 0, 0, 0), BPFInstruction(jeq, 0, 1, number), BPFInstruction(retK, 0, 0, action),
         BPFInstruction(retK, 0, 0, allow)]
    }

    func testEvaluatorFollowsKnownInputExactly() {
        XCTAssertEqual(BPFEvaluator.run(killSocket, input(41)), [outcome(killProcess)])
        XCTAssertEqual(BPFEvaluator.run(killSocket, input(0)), [outcome(allow)])
        var i386 = input(0)
        i386.arch = 0x4000_0003
        XCTAssertEqual(BPFEvaluator.run(killSocket, i386), [outcome(killProcess)], "foreign architecture")
    }

    func testEvaluatorTakesBothWaysOnUnknownArguments() {
        // socket: AF_UNIX allowed, other families EAFNOSUPPORT.
        let family: [BPFInstruction] = [
            BPFInstruction(ldAbs, 0, 0, 0), BPFInstruction(jeq, 0, 3, 41), BPFInstruction(ldAbs, 0, 0, 16),
            BPFInstruction(jeq, 1, 0, 1), BPFInstruction(retK, 0, 0, errno(97)), BPFInstruction(retK, 0, 0, allow),
        ]
        XCTAssertEqual(BPFEvaluator.run(family, input(41, [1])), [outcome(allow)])
        XCTAssertEqual(BPFEvaluator.run(family, input(41, [2])), [outcome(errno(97))])
        XCTAssertEqual(BPFEvaluator.run(family, input(41)), [outcome(allow, guessed: true), outcome(errno(97), guessed: true)])
        // The high word of a 64-bit argument is known too.
        let high: [BPFInstruction] = [BPFInstruction(ldAbs, 0, 0, 20), BPFInstruction(jeq, 0, 1, 0xffff_ffff),
                                      BPFInstruction(retK, 0, 0, killProcess), BPFInstruction(retK, 0, 0, allow)]
        XCTAssertEqual(BPFEvaluator.run(high, input(9, [UInt64.max])), [outcome(killProcess)])
        XCTAssertEqual(BPFEvaluator.run(high, input(9, [0x1_0000_0000 - 1])), [outcome(allow)])
        // The instruction pointer is never known.
        let ip: [BPFInstruction] = [BPFInstruction(ldAbs, 0, 0, 12), BPFInstruction(jge, 0, 1, 0x7f00),
                                    BPFInstruction(retK, 0, 0, allow), BPFInstruction(retK, 0, 0, errno(1))]
        XCTAssertEqual(BPFEvaluator.run(ip, input(0)), [outcome(allow, guessed: true), outcome(errno(1), guessed: true)])
    }

    func testEvaluatorArithmeticScratchMemoryAndRegisterMoves() {
        // M[3] = 5; X = M[3]; A = nr + X; X = A; A = X; JSET 8 -> EACCES.
        let program: [BPFInstruction] = [
            BPFInstruction(ldImm, 0, 0, 5), BPFInstruction(st, 0, 0, 3), BPFInstruction(ldxMem, 0, 0, 3),
            BPFInstruction(ldAbs, 0, 0, 0), BPFInstruction(aluAddX), BPFInstruction(tax), BPFInstruction(ldImm, 0, 0, 0),
            BPFInstruction(txa), BPFInstruction(jset, 0, 1, 8), BPFInstruction(retK, 0, 0, errno(13)),
            BPFInstruction(ldMem, 0, 0, 3), BPFInstruction(retA),
        ]
        XCTAssertEqual(BPFEvaluator.run(program, input(3)), [outcome(errno(13))], "3 + 5 has bit 3")
        XCTAssertEqual(BPFEvaluator.run(program, input(1)), [outcome(5)], "1 + 5 has not: RET A returns M[3]")
        // A mask with a zero operand is known whatever the argument.
        let masked: [BPFInstruction] = [BPFInstruction(ldAbs, 0, 0, 32), BPFInstruction(aluAndK, 0, 0, 0),
                                        BPFInstruction(retA)]
        XCTAssertEqual(BPFEvaluator.run(masked, input(9)), [outcome(0)])
        // Division by a zero X ends the filter with 0: kill.
        let divide: [BPFInstruction] = [BPFInstruction(ldxImm, 0, 0, 0), BPFInstruction(ldImm, 0, 0, 10),
                                        BPFInstruction(aluDivX), BPFInstruction(retK, 0, 0, allow)]
        XCTAssertEqual(BPFEvaluator.run(divide, input(0)), [outcome(0)])
    }

    func testEvaluatorGivesUpOnTooManyPaths() {
        // 20 forks on an unknown argument, each rejoining: 2^20 paths.
        var program = (0..<20).flatMap { i in
            [BPFInstruction(ldAbs, 0, 0, 16), BPFInstruction(jeq, 0, 0, UInt32(i))]
        }
        program.append(BPFInstruction(retK, 0, 0, allow))
        XCTAssertEqual(BPFEvaluator.run(program, input(0)), [outcome(nil, guessed: true)])
        XCTAssertEqual(BPFEvaluator.run(program, input(0, [7])), [outcome(allow)], "known: one path")
    }

    func testDecodesTheKernelsRecords() {
        let bytes: [UInt8] = [0x15, 0x00, 0x01, 0x02, 0x29, 0x00, 0x00, 0x00, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]
        XCTAssertEqual(BPFInstruction.decode(bytes), [BPFInstruction(jeq, 1, 2, 41), BPFInstruction(retK, 0, 0, allow)])
    }

    // MARK: - the verdict over a chain

    private let needs = SeccompNeeds.list(pid: 4242)

    func testMostRestrictiveFilterOfTheChainDecides() {
        let refusal = SeccompCheck.firstRefusal(filters: [allowAll, killSocket], needs: needs)
        XCTAssertEqual(refusal, .init(call: "socket", action: .killProcess, uncertain: false, madeBy: "the agent"))
        XCTAssertEqual(refusal?.detail, "kills socket(2), which the agent needs")
        XCTAssertNil(SeccompCheck.firstRefusal(filters: [allowAll, deny(169 /* reboot */, killProcess)], needs: needs))
        let mmap = SeccompCheck.firstRefusal(filters: [deny(9, errno(EPERM)), deny(9, 0x7ffc_0000 /* log */)], needs: needs)
        XCTAssertEqual(mmap?.detail, "makes mmap(2) fail with EPERM, which the injection needs")
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [deny(257, 0)], needs: needs)?.detail,
                       "kills openat(2), which the injection (dlopen) needs")
    }

    func testClone3DeniedWithENOSYSFallsBackToClone() {
        XCTAssertNil(SeccompCheck.firstRefusal(filters: [deny(435, errno(ENOSYS))], needs: needs))
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [deny(435, errno(ENOSYS)), deny(56, killProcess)], needs: needs)?.call,
                       "clone")
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [deny(435, errno(EPERM))], needs: needs)?.call, "clone3",
                       "only ENOSYS makes glibc try clone")
        XCTAssertNil(SeccompCheck.firstRefusal(filters: [deny(334, errno(EPERM))], needs: needs),
                     "glibc copes with a refused rseq")
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [deny(334, killProcess)], needs: needs)?.call, "rseq")
    }

    func testArgumentsWeKnowDecideAndOthersMakeTheAnswerUncertain() {
        // MemoryDenyWriteExecute-like: mmap with PROT_WRITE|PROT_EXEC killed.
        let wx: [BPFInstruction] = [
            BPFInstruction(ldAbs, 0, 0, 0), BPFInstruction(jeq, 0, 4, 9), BPFInstruction(ldAbs, 0, 0, 32),
            BPFInstruction(aluAndK, 0, 0, 6), BPFInstruction(jeq, 0, 1, 6), BPFInstruction(retK, 0, 0, killProcess),
            BPFInstruction(retK, 0, 0, allow),
        ]
        XCTAssertNil(SeccompCheck.firstRefusal(filters: [wx], needs: needs), "we never map write+exec")
        // Any PROT_EXEC mapping refused: our scratch page is r-x.
        var exec = wx
        exec[3] = BPFInstruction(aluAndK, 0, 0, 4)
        exec[4] = BPFInstruction(jeq, 0, 1, 4)
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [exec], needs: needs)?.detail,
                       "kills mmap(2), which the injection needs")
        // A decision on the calling address cannot be predicted.
        let byAddress: [BPFInstruction] = [
            BPFInstruction(ldAbs, 0, 0, 0), BPFInstruction(jeq, 0, 3, 41), BPFInstruction(ldAbs, 0, 0, 8),
            BPFInstruction(jge, 1, 0, 0x1000), BPFInstruction(retK, 0, 0, 0), BPFInstruction(retK, 0, 0, allow),
        ]
        XCTAssertEqual(SeccompCheck.firstRefusal(filters: [byAddress], needs: needs)?.detail,
                       "may kill socket(2) depending on arguments swiftleak cannot predict, and the agent needs it")
    }

    // MARK: - processes under real filters

    /// A fixture killed by a filter must fail the test, not kill the test
    /// process through a write to its closed stdin.
    override func setUp() {
        signal(SIGPIPE, SIG_IGN)
    }

    func testAttachRefusesWhenTheFilterForbidsACallAndTheProcessLivesOn() throws {
        let program = try SourceFixtures.program("seccomp_sleeper")
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let cases = [
            ("kill-socket", "kills socket(2), which the agent needs"),
            ("eperm-mmap", "makes mmap(2) fail with EPERM, which the injection needs"),
            ("kill-openat", "kills openat(2), which the injection (dlopen) needs"),
        ]
        for (mode, detail) in cases {
            let child = try ChildProcess.started(program, [mode])
            defer { child.terminate() }
            XCTAssertThrowsError(try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent,
                                                                   socketPathInTarget: "/tmp/unused"))) { error in
                XCTAssertEqual(error as? InjectError, .seccompForbids(pid: child.pid, detail: detail))
                XCTAssertEqual("\(error)", "pid \(child.pid) runs under a seccomp filter that \(detail); "
                                   + "not attached, the process was left as it was")
            }
            XCTAssertEqual(child.tracerPID(), 0, mode)
            child.writeLine("ping")
            XCTAssertEqual(child.readLine(), "alive ping", "\(mode): the process survived and answers")
            child.writeLine("quit")
            XCTAssertEqual(child.waitExit(), 0, mode)
        }
    }

    /// Every call on the one list (SeccompNeeds), killed or refused with
    /// EPERM by a filter of its own: the attach is refused naming that call,
    /// or, where an error is handled (rseq, set_robust_list...), goes on
    /// past the check; the process lives either way. The fixture's own
    /// calls (read, write, poll, clock_nanosleep, exit_group) cannot be
    /// filtered without killing it first.
    func testEachCallOfTheListForbiddenAloneIsRefusedByName() throws {
        let program = try SourceFixtures.program("seccomp_sleeper")
        let agent = try Fixtures.library("libtestagent.so", Fixtures.testAgent)
        let fixtureOwn: Set<UInt32> = [0, 1, 7, 230, 231]
        var checked = 0
        for need in SeccompNeeds.list(pid: 0) where !fixtureOwn.contains(need.number) {
            for action in ["kill", "eperm"] {
                let child = try ChildProcess.started(program, ["\(action):\(need.number)"])
                defer { child.terminate() }
                let handled = action == "eperm" && need.failureIsHandled
                do {
                    _ = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: "/tmp/unused"))
                    XCTAssertTrue(handled, "\(action) \(need.name): attached though the filter forbids a call we make")
                } catch let error as InjectError {
                    if case .seccompForbids = error {
                        XCTAssertFalse(handled, "\(action) \(need.name): refused, though its failure is handled: \(error)")
                        XCTAssertTrue("\(error)".contains(" \(need.name)(2)"), "\(action) \(need.name): \(error)")
                    } else if !handled {
                        XCTFail("\(action) \(need.name): not the seccomp refusal: \(error)")
                    }
                }
                XCTAssertEqual(child.tracerPID(), 0, "\(action) \(need.name)")
                child.writeLine("ping")
                XCTAssertEqual(child.readLine(), "alive ping", "\(action) \(need.name): the process survived and answers")
                child.writeLine("quit")
                XCTAssertEqual(child.waitExit(), 0, "\(action) \(need.name)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 60, "every call of the list but the fixture's own, both ways")
    }

    /// A filter as careful services run (foreign architectures killed,
    /// sockets only AF_UNIX, no write+exec mappings, clone3 -> ENOSYS,
    /// ptrace killed): the real agent loads, starts its thread through
    /// glibc's clone fallback, connects, and the program carries on.
    func testAttachUnderAFilterThatAllowsEverythingWeNeed() throws {
        let program = try SourceFixtures.program("seccomp_sleeper")
        let agent = try SourceFixtures.realAgent.get()
        let child = try ChildProcess.started(program, ["allow-agent"])
        defer { child.terminate() }
        let listener = try AgentListener(name: "seccomp")
        let report = try Injector.attach(AttachRequest(pid: child.pid, agentPath: agent, socketPathInTarget: listener.path))
        XCTAssertTrue(report.syscallName.contains("nanosleep"), report.syscallName)
        XCTAssertEqual(listener.acceptHello(), "SWLKEVT1", "the agent connected from inside the filter")
        child.writeLine("ping")
        XCTAssertEqual(child.readLine(), "alive ping")
        child.writeLine("quit")
        XCTAssertEqual(child.waitExit(), 0)
    }
}
