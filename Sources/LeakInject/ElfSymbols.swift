import Glibc

/// Exported function addresses of a shared object, read from its .dynsym on
/// disk. The target's own C library is read (never swiftleak's: the target
/// may run another glibc, e.g. in a container), and only the dynamic symbol
/// table is needed, since everything callable from outside is in it.
struct ElfSymbols {
    /// name -> st_value (an address relative to the file's link base).
    private(set) var symbols: [String: UInt64] = [:]
    /// Page-aligned p_vaddr of the first PT_LOAD: the mapping with file
    /// offset 0 sits at loadBase + firstLoadAddress.
    private(set) var firstLoadAddress: UInt64 = 0

    /// Parses `path` and keeps the defined symbols named in `wanted`.
    init(path: String, wanted: Set<String>) throws {
        let file = try ElfFile(path: path)
        defer { file.close() }

        let header = try file.bytes(at: 0, count: 64)
        guard header.count == 64, header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46 else {
            throw file.failure("not an ELF file")
        }
        guard header[4] == 2 else { throw file.failure("a 32-bit library: 32-bit processes are not supported") }
        guard header[5] == 1, header.u16(0x12) == 62 /* EM_X86_64 */ else {
            throw file.failure("not an x86_64 library")
        }

        // Program headers: the link address of the first loadable segment.
        let phoff = header.u64(0x20), phentsize = UInt64(header.u16(0x36)), phnum = UInt64(header.u16(0x38))
        let programHeaders = try file.bytes(at: phoff, count: Int(phentsize * phnum))
        for i in 0..<Int(phnum) {
            let base = i * Int(phentsize)
            if programHeaders.u32(base) == 1 /* PT_LOAD */ {
                firstLoadAddress = programHeaders.u64(base + 16) & ~UInt64(0xfff)
                break
            }
        }

        // Section headers: .dynsym, its string table (sh_link) and the symbol
        // versions, so the default version (dlopen@@GLIBC_2.34) wins over a
        // compatibility one (dlopen@GLIBC_2.2.5) when they differ.
        let shoff = header.u64(0x28), shentsize = Int(header.u16(0x3a)), shnum = Int(header.u16(0x3c))
        guard shoff != 0, shnum > 0, shentsize >= 64 else { throw file.failure("no section headers") }
        let sections = try file.bytes(at: shoff, count: shentsize * shnum)
        func section(_ i: Int) -> (type: UInt32, offset: UInt64, size: UInt64, link: Int) {
            let b = i * shentsize
            return (sections.u32(b + 4), sections.u64(b + 24), sections.u64(b + 32), Int(sections.u32(b + 40)))
        }
        guard let dynsymIndex = (0..<shnum).first(where: { section($0).type == 11 /* SHT_DYNSYM */ }) else {
            throw file.failure("no .dynsym section")
        }
        let dynsym = section(dynsymIndex)
        guard dynsym.link < shnum else { throw file.failure("broken .dynsym link") }
        let strtab = section(dynsym.link)
        let versymSection = (0..<shnum).first(where: { section($0).type == 0x6fff_ffff /* SHT_GNU_versym */ })

        let symbolBytes = try file.bytes(at: dynsym.offset, count: Int(dynsym.size))
        let strings = try file.bytes(at: strtab.offset, count: Int(strtab.size))
        let versions = try versymSection.map { try file.bytes(at: section($0).offset, count: Int(section($0).size)) }

        // Names are compared as bytes: libc has thousands of symbols and
        // building a String for each costs more than the rest of the attach.
        let wantedBytes = wanted.map { (name: $0, bytes: Array($0.utf8)) }
        var isDefaultVersion: [String: Bool] = [:]
        let count = symbolBytes.count / 24
        for i in 0..<count {
            let b = i * 24
            let nameOffset = Int(symbolBytes.u32(b))
            let shndx = symbolBytes.u16(b + 6)
            let value = symbolBytes.u64(b + 8)
            guard shndx != 0 /* SHN_UNDEF */, value != 0, nameOffset < strings.count else { continue }
            guard let name = wantedBytes.first(where: { strings.hasCString($0.bytes, at: nameOffset) })?.name else { continue }
            let hidden = versions.map { $0.count >= (i + 1) * 2 && $0.u16(i * 2) & 0x8000 != 0 } ?? false
            if symbols[name] == nil || (isDefaultVersion[name] == false && !hidden) {
                symbols[name] = value
                isDefaultVersion[name] = !hidden
            }
        }
    }

    /// Runtime address of `name` in a process that mapped this file (offset 0)
    /// at `mappingStart`.
    func address(of name: String, mappingStart: UInt64) -> UInt64? {
        symbols[name].map { mappingStart - firstLoadAddress + $0 }
    }
}

/// A read-only file descriptor with bounded preads, so a corrupt header
/// cannot make us read gigabytes.
private struct ElfFile {
    let path: String
    let fd: Int32
    static let maxRead = 64 << 20

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw InjectError.libraryUnreadable(path: path, detail: "\(errnoText(errno)); run as root so /proc/PID/map_files can be opened")
        }
    }

    func close() { _ = Glibc.close(fd) }

    func failure(_ detail: String) -> InjectError {
        .libraryUnreadable(path: path, detail: detail)
    }

    func bytes(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count >= 0, count <= ElfFile.maxRead else { throw failure("implausible table size \(count)") }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw failure(errnoText(errno)) }
            if n == 0 { throw failure("truncated at offset \(offset + UInt64(done))") }
            done += n
        }
        return buffer
    }
}

extension Array where Element == UInt8 {
    // Little-endian loads; x86_64 is little-endian like the files we read.
    func u16(_ at: Int) -> UInt16 { withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt16.self)) } }
    func u32(_ at: Int) -> UInt32 { withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) } }
    func u64(_ at: Int) -> UInt64 { withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
    /// Whether the NUL-terminated string at `offset` is exactly `name`.
    func hasCString(_ name: [UInt8], at offset: Int) -> Bool {
        guard offset + name.count < count, self[offset] == name[0] else { return false }
        for i in 1..<name.count where self[offset + i] != name[i] { return false }
        return self[offset + name.count] == 0
    }
}
