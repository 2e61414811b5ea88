import LeakProc
import XCTest

/// The /proc parsers on samples, awkward ones included.
final class ProcParsingTests: XCTestCase {
    func testStatusFields() {
        let status = ProcStatus(text: """
        Name:\tmy prog
        State:\tS (sleeping)
        Tgid:\t42
        TracerPid:\t7
        Uid:\t1000\t1000\t1000\t1000
        Gid:\t100\t100\t100\t100
        SigBlk:\t0000000000010002
        CapEff:\t000001ffffffffff
        Seccomp:\t2
        x86_Thread_features:\tshstk wrss
        """)
        XCTAssertEqual(status.name, "my prog")
        XCTAssertEqual(status.state, "S")
        XCTAssertEqual(status.tgid, 42)
        XCTAssertEqual(status.tracerPID, 7)
        XCTAssertEqual(status.uid, 1000)
        XCTAssertEqual(status.gid, 100)
        XCTAssertEqual(status.seccompMode, 2)
        XCTAssertEqual(status.hexMask("SigBlk"), 0x10002)
        XCTAssertEqual(status.hexMask("CapEff"), 0x1ff_ffff_ffff)
        XCTAssertNil(status.hexMask("SigCgt"))
        XCTAssertTrue(status.hasShadowStack)
        XCTAssertFalse(ProcStatus(text: "x86_Thread_features:\t\n").hasShadowStack)
    }

    func testStatWithAwkwardName() {
        let stat = ProcStat(text: "123 (a) b (c) S 1 2 3 4 5 2097216 0 0")
        XCTAssertEqual(stat?.state, "S")
        XCTAssertEqual(stat.map { $0.flags & ProcStat.kernelThreadFlag != 0 }, true)
        XCTAssertEqual(ProcStat(text: "9 (z) Z 1 2 3 4 5 0")?.hasExited, true)
        XCTAssertNil(ProcStat(text: "9 (z) Z 1"), "too few fields")
    }

    func testMapsLineWithSpacesAndDeletedFile() throws {
        let line = try XCTUnwrap(MapsLine("7f54f9ced000-7f54f9e43000 r-xp 00026000 fe:00 333151      /tmp/my dir/lib.so (deleted)"))
        XCTAssertEqual(line.start, 0x7f54_f9ce_d000)
        XCTAssertEqual(line.end, 0x7f54_f9e4_3000)
        XCTAssertEqual(line.permissions, "r-xp")
        XCTAssertEqual(line.offset, 0x26000)
        XCTAssertEqual(line.inode, 333_151)
        XCTAssertEqual(line.path, "/tmp/my dir/lib.so (deleted)")
        XCTAssertEqual(line.livePath, "/tmp/my dir/lib.so")
        XCTAssertEqual(MapsLine("7f0000000000-7f0000001000 rw-p 00000000 00:00 0")?.path, "")
        XCTAssertNil(MapsLine("not a maps line"))
    }
}
