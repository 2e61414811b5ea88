import CElfutils
import Foundation
@testable import LeakSymbols
import XCTest

/// Debug files read through their inflated copies, and units found through
/// .debug_aranges: the same bytes and the same units libdw finds itself.
final class InflatedDebugFilesTests: XCTestCase {
    private var work = ""

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "inflated-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    private var fixture: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let directory = ProcessInfo.processInfo.environment["SWIFTLEAK_FIXTURES"] ?? root + "/Tests/Fixtures/bin"
        return directory + "/inline_cxx"
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(arguments) failed")
    }

    /// Each .debug_* section by name: its flags and its bytes as libelf
    /// gives them (inflated when compressed).
    private func debugSections(fd: Int32) throws -> [String: (flags: UInt64, bytes: [UInt8])] {
        _ = elf_version(UInt32(EV_CURRENT))
        let elf = try XCTUnwrap(elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, nil))
        defer { elf_end(elf) }
        var shstrndx = 0
        XCTAssertEqual(elf_getshdrstrndx(elf, &shstrndx), 0)
        var sections: [String: (UInt64, [UInt8])] = [:]
        var scn: OpaquePointer?
        while let section = elf_nextscn(elf, scn) {
            scn = section
            var header = GElf_Shdr()
            XCTAssertNotNil(gelf_getshdr(section, &header))
            let name = String(cString: try XCTUnwrap(elf_strptr(elf, shstrndx, Int(header.sh_name))))
            guard name.hasPrefix(".debug_") else { continue }
            let flags = header.sh_flags
            if flags & UInt64(SHF_COMPRESSED) != 0 { XCTAssertEqual(elf_compress(section, 0, 0), 1, name) }
            let data = try XCTUnwrap(elf_rawdata(section, nil))
            sections[name] = (flags, Array(UnsafeRawBufferPointer(start: data.pointee.d_buf, count: data.pointee.d_size)))
        }
        return sections
    }

    /// The fixture's debug sections in a file of their own, compressed, and
    /// what libelf reads from it.
    private func compressedDebugFile() throws -> (path: String, sections: [String: (flags: UInt64, bytes: [UInt8])]) {
        let compressed = work + "/compressed.debug"
        try run(["objcopy", "--only-keep-debug", "--compress-debug-sections=zlib", fixture, compressed])
        let original = open(compressed, O_RDONLY)
        XCTAssertGreaterThanOrEqual(original, 0)
        defer { close(original) }
        return (compressed, try debugSections(fd: original))
    }

    func testCopyHoldsEveryCompressedSectionInflated() throws {
        let (compressed, expected) = try compressedDebugFile()
        XCTAssertTrue(expected.values.contains { $0.flags & UInt64(SHF_COMPRESSED) != 0 }, "objcopy compressed nothing")

        let copies = InflatedDebugFiles(directory: work, cache: nil)
        let copy = try XCTUnwrap(copies.inflatedCopy(ofFileAt: compressed))
        defer { close(copy) }
        let inflated = try debugSections(fd: copy)
        XCTAssertEqual(Set(inflated.keys), Set(expected.keys))
        for (name, section) in inflated {
            XCTAssertEqual(section.flags & UInt64(SHF_COMPRESSED), 0, "\(name) is still compressed")
            XCTAssertEqual(section.bytes, expected[name]?.bytes, "\(name) differs")
        }
        // Unlinked: nothing is left in the directory.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work), ["compressed.debug"])

        // Asked again, the same copy: a new descriptor of the same file.
        let again = try XCTUnwrap(copies.inflatedCopy(ofFileAt: compressed))
        defer { close(again) }
        var first = stat(), second = stat()
        XCTAssertEqual(fstat(copy, &first), 0)
        XCTAssertEqual(fstat(again, &second), 0)
        XCTAssertEqual(first.st_ino, second.st_ino)
    }

    /// A second swiftleak process reads the copy the first left in the
    /// cache, inflating nothing; an updated original gets a copy of its own,
    /// a copy cut short is made again, and the directory keeps to its limit.
    func testCopiesOutliveTheProcessThroughTheCache() throws {
        let (compressed, expected) = try compressedDebugFile()
        let cache = DebugCopyCache(directory: work + "/cache", limit: DebugCopyCache.defaultLimit)
        let cached: () throws -> [String] = { try FileManager.default.contentsOfDirectory(atPath: cache.directory) }

        let first = InflatedDebugFiles(directory: work, cache: cache)
        let made = try XCTUnwrap(first.inflatedCopy(ofFileAt: compressed))
        defer { close(made) }
        XCTAssertEqual(first.inflated, 1)
        let names = try cached()
        XCTAssertEqual(names.count, 1, "\(names)")
        XCTAssertTrue(names[0].contains("_compressed.debug-") && names[0].hasSuffix(".copy"), names[0])

        let second = InflatedDebugFiles(directory: work, cache: cache)
        let reused = try XCTUnwrap(second.inflatedCopy(ofFileAt: compressed))
        defer { close(reused) }
        XCTAssertEqual(second.inflated, 0, "the second process inflated again")
        var made_ = stat(), reused_ = stat(), named = stat()
        XCTAssertEqual(fstat(made, &made_), 0)
        XCTAssertEqual(fstat(reused, &reused_), 0)
        XCTAssertEqual(stat(cache.directory + "/" + names[0], &named), 0)
        XCTAssertEqual(reused_.st_ino, named.st_ino)
        XCTAssertEqual(made_.st_ino, named.st_ino)
        let sections = try debugSections(fd: reused)
        XCTAssertEqual(Set(sections.keys), Set(expected.keys))
        for (name, section) in sections { XCTAssertEqual(section.bytes, expected[name]?.bytes, "\(name) differs") }

        // Cut short: not used, made again under the same name.
        XCTAssertEqual(truncate(cache.directory + "/" + names[0], 100), 0)
        let third = InflatedDebugFiles(directory: work, cache: cache)
        let remade = try XCTUnwrap(third.inflatedCopy(ofFileAt: compressed))
        close(remade)
        XCTAssertEqual(third.inflated, 1)
        XCTAssertEqual(stat(cache.directory + "/" + names[0], &named), 0)
        XCTAssertGreaterThan(named.st_size, 100)

        // An updated original (another modification time): a copy of its
        // own; with room for one copy only, the older one goes.
        let small = DebugCopyCache(directory: cache.directory, limit: 1)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, compressed, &times, 0), 0)
        let fourth = InflatedDebugFiles(directory: work, cache: small)
        let updated = try XCTUnwrap(fourth.inflatedCopy(ofFileAt: compressed))
        close(updated)
        XCTAssertEqual(fourth.inflated, 1)
        let left = try cached()
        XCTAssertEqual(left.count, 1, "\(left)")
        XCTAssertTrue(left[0].hasSuffix("-1000000000.copy"), left[0])
    }

    /// A cache directory another user could write to is not used: the copy
    /// is made unlinked instead.
    func testCacheOthersCanWriteToIsNotUsed() throws {
        let compressed = work + "/compressed.debug"
        try run(["objcopy", "--only-keep-debug", "--compress-debug-sections=zlib", fixture, compressed])
        let cache = DebugCopyCache(directory: work + "/open", limit: DebugCopyCache.defaultLimit)
        try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(cache.directory, 0o777), 0)
        XCTAssertNil(cache.usableDirectory())
        let copies = InflatedDebugFiles(directory: work, cache: cache)
        let copy = try XCTUnwrap(copies.inflatedCopy(ofFileAt: compressed))
        close(copy)
        XCTAssertEqual(copies.inflated, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.directory), [])
    }

    func testCacheDirectoryFromTheEnvironment() {
        XCTAssertNil(DebugCopyCache.fromEnvironment(["SWIFTLEAK_CACHE_DIR": "off", "HOME": "/root"]))
        XCTAssertNil(DebugCopyCache.fromEnvironment(["SWIFTLEAK_CACHE_DIR": "", "HOME": "/root"]))
        XCTAssertEqual(DebugCopyCache.fromEnvironment(["SWIFTLEAK_CACHE_DIR": "/c", "HOME": "/root"])?.directory, "/c")
        XCTAssertEqual(DebugCopyCache.fromEnvironment(["XDG_CACHE_HOME": "/x", "HOME": "/root"])?.directory, "/x/swiftleak/debug")
        XCTAssertEqual(DebugCopyCache.fromEnvironment(["HOME": work])?.directory, work + "/.cache/swiftleak/debug")
        XCTAssertNil(DebugCopyCache.fromEnvironment(["HOME": work + "/no-such-home"]))
        XCTAssertNil(DebugCopyCache.fromEnvironment([:]))
        // Root with another user's HOME: no cache there.
        if geteuid() == 0 {
            let other = work + "/other"
            XCTAssertNoThrow(try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true))
            XCTAssertEqual(chown(other, 65534, 65534), 0)
            XCTAssertNil(DebugCopyCache.fromEnvironment(["HOME": other]))
        }
    }

    func testDamagedFileHasNoCopy() throws {
        let compressed = work + "/compressed.debug"
        try run(["objcopy", "--only-keep-debug", "--compress-debug-sections=zlib", fixture, compressed])
        let copies = InflatedDebugFiles(directory: work, cache: nil)
        let whole = try Data(contentsOf: URL(fileURLWithPath: compressed))
        let shoff = Int(whole.withUnsafeBytes { $0.load(fromByteOffset: 0x28, as: UInt64.self) })
        // Everything between the ELF header and the section headers zeroed:
        // no compression header says zlib.
        var zeroed = whole.prefix(64) + Data(count: shoff - 64)
        zeroed.append(whole[shoff...])
        try zeroed.write(to: URL(fileURLWithPath: work + "/zeroed.debug"))
        XCTAssertNil(copies.inflatedCopy(ofFileAt: work + "/zeroed.debug"))
        // A compressed section reaching past the end of the file.
        var long = whole
        let count = (whole.count - shoff) / 64
        let index = try XCTUnwrap((0..<count).first { index in
            whole.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: shoff + index * 64 + 8, as: UInt64.self) } & UInt64(SHF_COMPRESSED) != 0
        })
        long.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(1) << 62, toByteOffset: shoff + index * 64 + 32, as: UInt64.self) }
        try long.write(to: URL(fileURLWithPath: work + "/long.debug"))
        XCTAssertNil(copies.inflatedCopy(ofFileAt: work + "/long.debug"))
    }

    func testUncompressedOrMissingFileHasNoCopy() {
        let copies = InflatedDebugFiles(directory: work, cache: nil)
        XCTAssertNil(copies.inflatedCopy(ofFileAt: fixture))
        XCTAssertNil(copies.inflatedCopy(ofFileAt: work + "/no-such.debug"))
    }

    /// The check that keeps a stale build-ID link from naming another file.
    func testBuildIDMatchesOnlyTheFilesOwnID() throws {
        let fd = open(fixture, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let text = try XCTUnwrap(BuildID.read(module: fixture, pid: getpid()))
        var id = stride(from: 0, to: text.count, by: 2).map { offset -> UInt8 in
            let start = text.index(text.startIndex, offsetBy: offset)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
        id.withUnsafeBytes { XCTAssertTrue(BuildID.matches(fd: fd, $0)) }
        id[0] ^= 1
        id.withUnsafeBytes { XCTAssertFalse(BuildID.matches(fd: fd, $0)) }
        id.removeLast()
        id.withUnsafeBytes { XCTAssertFalse(BuildID.matches(fd: fd, $0)) }
    }

    /// For every row, the unit libdw's own aranges lookup gives.
    func testArangesTableNamesTheUnitsLibdwFinds() throws {
        let fd = open(fixture, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let dwarf = try XCTUnwrap(dwarf_begin(fd, DWARF_C_READ))
        defer { dwarf_end(dwarf) }
        let table = try XCTUnwrap(ArangesTable(dwarf: dwarf), "g++ emits .debug_aranges")
        XCTAssertFalse(table.rows.isEmpty)
        for row in table.rows {
            for address in [row.low, row.high - 1] {
                var unit = Dwarf_Die()
                XCTAssertNotNil(dwarf_addrdie(dwarf, address, &unit))
                var next: Dwarf_Off = 0
                var headerSize = 0
                let header = try XCTUnwrap(table.unit(containing: address))
                XCTAssertEqual(dwarf_nextcu(dwarf, header, &next, &headerSize, nil, nil, nil), 0)
                XCTAssertEqual(header + Dwarf_Off(headerSize), dwarf_dieoffset(&unit), String(address, radix: 16))
            }
        }
        XCTAssertNil(table.unit(containing: 0))
    }

    /// libc's own debug file (libc6-dbg, compressed on Debian): frames read
    /// through the inflated copy name the lines libdw reads from the file.
    func testLibcLinesThroughTheCopyMatchLibdwReadingTheFile() throws {
        let address = UInt64(UInt(bitPattern: try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc"))))
        // Read before the symbolizer maps libc's file for reading too.
        let maps = try ProcessMaps.read(pid: getpid()).maps
        let symbolizer = try Symbolizer(pid: getpid())
        let frames = symbolizer.frames(address: address, isReturnAddress: false)
        let outer = try XCTUnwrap(frames.last)
        // The file libdw read is the copy (unlinked, in the temporary
        // directory), while the symbolizer has it open.
        try withExtendedLifetime(symbolizer) {
            let mapped = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
            XCTAssertFalse(mapped.contains("/usr/lib/debug/"), "a compressed debug file itself is mapped")
            let copyDirectory = InflatedDebugFiles.shared.cache?.usableDirectory().map { $0 + "/" } ?? InflatedDebugFiles.temporaryDirectory + "/#"
            XCTAssertTrue(mapped.contains(copyDirectory), mapped)
        }

        // The same lookup, straight from the file libdw inflates itself.
        // libc's first mapping is its ELF header, at link address 0.
        let module = try XCTUnwrap(outer.module)
        let base = try XCTUnwrap(maps.firstMapping(named: module)).start
        let libc = open(module, O_RDONLY)
        XCTAssertGreaterThanOrEqual(libc, 0)
        defer { close(libc) }
        let elf = try XCTUnwrap(elf_begin(libc, ELF_C_READ_MMAP, nil))
        defer { elf_end(elf) }
        var id: UnsafeRawPointer?
        let length = dwelf_elf_gnu_build_id(elf, &id)
        XCTAssertGreaterThan(length, 0)
        let path = try XCTUnwrap(BuildID.debugFilePath(UnsafeRawBufferPointer(start: id, count: length)))
        let debug = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(debug, 0, "\(path) is missing: Scripts/setup installs libc6-dbg")
        defer { close(debug) }
        let dwarf = try XCTUnwrap(dwarf_begin(debug, DWARF_C_READ))
        defer { dwarf_end(dwarf) }
        // Every unit's ranges, scanned (libdw 0.188's aranges lookup fails on
        // this file's DWARF 5).
        var unit = Dwarf_Die()
        var offset: Dwarf_Off = 0, next: Dwarf_Off = 0
        var headerSize = 0
        var found = false
        while !found, dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            found = dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &unit) != nil && dwarf_haspc(&unit, address - base) == 1
            offset = next
        }
        XCTAssertTrue(found, "no unit of \(path) holds \(String(address - base, radix: 16))")
        let line = try XCTUnwrap(dwarf_getsrc_die(&unit, address - base))
        var number: Int32 = 0
        XCTAssertEqual(dwarf_lineno(line, &number), 0)
        let innermost = try XCTUnwrap(frames.first)
        XCTAssertEqual(innermost.file, dwarf_linesrc(line, nil, nil).map { String(cString: $0) })
        XCTAssertEqual(innermost.line, UInt32(number))
        XCTAssertNotNil(outer.function)
    }
}
