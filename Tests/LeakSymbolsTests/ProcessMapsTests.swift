@testable import LeakSymbols
import XCTest

/// Parsing of /proc/PID/maps lines, including awkward names.
final class ProcessMapsTests: XCTestCase {
    func testKeepsNamedMappingsAndDropsAnonymousOnes() {
        let maps = ProcessMaps(text: """
        55d0c0a00000-55d0c0a01000 r-xp 00001000 fe:01 1234    /tmp/my dir/fixture (deleted)
        55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0       [heap]
        7f0000000000-7f0000001000 r-xp 00000000 00:00 0
        7ffd1e9fe000-7ffd1ea00000 r-xp 00000000 00:00 0       [vdso]
        7ffd1e900000-7ffd1e921000 rw-p 00000000 00:00 0       [stack]
        """)
        XCTAssertEqual(maps.mappings.map(\.path), ["/tmp/my dir/fixture (deleted)", "[vdso]"])
        let first = maps.mappings[0]
        XCTAssertEqual(first.start, 0x55d0_c0a0_0000)
        XCTAssertEqual(first.end, 0x55d0_c0a0_1000)
        XCTAssertEqual(first.offset, 0x1000)
        XCTAssertEqual(first.inode, 1234)
        XCTAssertEqual(maps.firstMapping(named: "[vdso]")?.start, 0x7ffd_1e9f_e000)
    }

    /// An mprotect changes only the permissions: the module list is the same.
    func testPermissionChangeIsNoChange() {
        let before = ProcessMaps(text: "7f0000000000-7f0000001000 rw-p 00000000 fe:01 77 /usr/lib/libx.so\n")
        let after = ProcessMaps(text: "7f0000000000-7f0000001000 r--p 00000000 fe:01 77 /usr/lib/libx.so\n")
        XCTAssertEqual(before, after)
        XCTAssertNotEqual(before, ProcessMaps(text: "7f0000000000-7f0000002000 r--p 00000000 fe:01 77 /usr/lib/libx.so\n"))
    }
}
