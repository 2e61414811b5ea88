import Glibc
import XCTest
@testable import LeakInject

/// The injector's use of /proc (where is libc?) and its ELF reader, on
/// samples and on this very process; the /proc parsers themselves are
/// tested in LeakProcTests.
final class ParsingTests: XCTestCase {
    func testMapsFindLibcAndIgnoreOthers() {
        let maps = ProcMaps(text: """
        55d0c0000000-55d0c0001000 r--p 00000000 fe:00 12 /usr/bin/my prog
        7f0000000000-7f0000026000 r--p 00000000 fe:00 333 /usr/lib/x86_64-linux-gnu/libcrypt.so.1
        7f54f9cc7000-7f54f9ced000 r--p 00000000 fe:00 333151 /usr/lib/x86_64-linux-gnu/libc.so.6 (deleted)
        7f54f9ced000-7f54f9e43000 r-xp 00026000 fe:00 333151 /usr/lib/x86_64-linux-gnu/libc.so.6
        """)
        XCTAssertEqual(maps.entries.first?.path, "/usr/bin/my prog")
        XCTAssertEqual(maps.libcBaseMapping?.start, 0x7f54_f9cc_7000)
        XCTAssertEqual(maps.libcBaseMapping?.livePath, "/usr/lib/x86_64-linux-gnu/libc.so.6")
    }

    /// Resolving our own libc through the same path as for a target must
    /// give the addresses our dynamic linker gives.
    func testResolvedAddressesMatchDlsym() throws {
        let maps = try ProcMaps.read(pid: getpid()).get()
        let libc = try TargetLibc.resolve(pid: getpid(), maps: maps)
        func real(_ name: String) -> UInt64 { UInt64(UInt(bitPattern: dlsym(UnsafeMutableRawPointer(bitPattern: 0), name))) }
        XCTAssertFalse(libc.internalDlopen)
        XCTAssertEqual(libc.mmap, real("mmap"))
        XCTAssertEqual(libc.munmap, real("munmap"))
        XCTAssertEqual(libc.dlopen, real("dlopen"))
        XCTAssertEqual(libc.dlsym, real("dlsym"))
        XCTAssertEqual(libc.dlerror, real("dlerror"))
    }

    func testSafePointTable() {
        XCTAssertEqual(SyscallTable.restartable[0], "read")
        XCTAssertNil(SyscallTable.restartable[202], "futex is never a safe point")
        XCTAssertNil(SyscallTable.restartable[232], "epoll_wait returns EINTR")
        XCTAssertEqual(SyscallTable.resumedCall(wchan: "poll_schedule_timeout.constprop.0"), "poll")
        XCTAssertEqual(SyscallTable.resumedCall(wchan: "do_syscall_64"), "nanosleep")
        XCTAssertNil(SyscallTable.resumedCall(wchan: "futex_do_wait"), "a timed futex wait restarts too")
        XCTAssertNil(SyscallTable.resumedCall(wchan: "0"), "wchan hidden: cannot tell")
        var scan = SafePointFinder.Scan()
        scan.activity = ["running", "futex", "running"]
        XCTAssertEqual(scan.summary, "2 running, 1 futex")
    }

    func testErrorMessagesAreOneLine() {
        let errors: [InjectError] = [
            .noSuchProcess(pid: 1), .zombie(pid: 1), .alreadyTraced(pid: 1, tracerPID: 2, tracerName: "gdb"),
            .noSafePoint(pid: 1, seconds: 0.5, threads: "1 running"), .permissionDenied(pid: 1, detail: "x"),
            .agentAttachFailed(pid: 1, errno: ECONNREFUSED),
        ]
        for error in errors {
            XCTAssertFalse(error.description.contains("\n"))
            XCTAssertTrue(error.description.contains(":"), error.description)
        }
        XCTAssertTrue(InjectError.noSafePoint(pid: 1, seconds: 0.5, threads: "").description.contains("500 ms"))
    }
}
