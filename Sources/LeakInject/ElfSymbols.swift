import CElfutils
import Glibc
import LeakProc

/// Exported function addresses of a shared object, read from its .dynsym on
/// disk with libelf. The target's own C library is read (never swiftleak's:
/// the target may run another glibc, e.g. in a container), and only the
/// dynamic symbol table is needed, since everything callable from outside is
/// in it.
struct ElfSymbols {
    /// name -> st_value (an address relative to the file's link base).
    private(set) var symbols: [String: UInt64] = [:]
    /// Page-aligned p_vaddr of the first PT_LOAD: the mapping with file
    /// offset 0 sits at loadBase + firstLoadAddress.
    private(set) var firstLoadAddress: UInt64 = 0

    /// Parses `path` and keeps the defined symbols named in `wanted`.
    init(path: String, wanted: Set<String>) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw InjectError.libraryUnreadable(path: path, detail: "\(errnoDescription(errno)); run as root so /proc/PID/map_files can be opened")
        }
        defer { _ = close(fd) }
        func failure(_ detail: String) -> InjectError { .libraryUnreadable(path: path, detail: detail) }
        func elfFailure() -> InjectError { failure(String(cString: elf_errmsg(-1))) }

        guard elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE), let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
            throw elfFailure()
        }
        defer { elf_end(elf) }
        guard elf_kind(elf) == ELF_K_ELF else { throw failure("not an ELF file") }
        guard gelf_getclass(elf) == ELFCLASS64 else { throw failure("a 32-bit library: 32-bit processes are not supported") }
        var header = GElf_Ehdr()
        guard gelf_getehdr(elf, &header) != nil else { throw elfFailure() }
        let byteOrder = withUnsafeBytes(of: header.e_ident) { $0[Int(EI_DATA)] }
        guard byteOrder == UInt8(ELFDATA2LSB), header.e_machine == UInt16(EM_X86_64) else {
            throw failure("not an x86_64 library")
        }

        // Program headers: the link address of the first loadable segment.
        var programHeaderCount = 0
        guard elf_getphdrnum(elf, &programHeaderCount) == 0 else { throw elfFailure() }
        for index in 0..<Int32(programHeaderCount) {
            var programHeader = GElf_Phdr()
            if gelf_getphdr(elf, index, &programHeader) != nil, programHeader.p_type == UInt32(PT_LOAD) {
                firstLoadAddress = programHeader.p_vaddr & ~UInt64(0xfff)
                break
            }
        }

        // .dynsym, and the symbol versions, so the default version
        // (dlopen@@GLIBC_2.34) wins over a compatibility one
        // (dlopen@GLIBC_2.2.5) when they differ.
        var dynsym: (section: OpaquePointer, header: GElf_Shdr)?
        var versym: OpaquePointer?
        var section = elf_nextscn(elf, nil)
        while let current = section {
            var sectionHeader = GElf_Shdr()
            if gelf_getshdr(current, &sectionHeader) != nil {
                if sectionHeader.sh_type == UInt32(SHT_DYNSYM) { dynsym = (current, sectionHeader) }
                if sectionHeader.sh_type == UInt32(SHT_GNU_versym) { versym = current }
            }
            section = elf_nextscn(elf, current)
        }
        guard let dynsym else { throw failure("no .dynsym section") }
        guard let symbolData = elf_getdata(dynsym.section, nil) else { throw elfFailure() }
        let versionData = versym.flatMap { elf_getdata($0, nil) }
        let stringTable = Int(dynsym.header.sh_link)
        let count = dynsym.header.sh_entsize == 0 ? 0 : Int(dynsym.header.sh_size / dynsym.header.sh_entsize)

        // Names are compared as C strings: libc has thousands of symbols and
        // building a String for each costs more than the rest of the attach.
        let wantedNames = wanted.map { (name: $0, cString: Array($0.utf8CString)) }
        var isDefaultVersion: [String: Bool] = [:]
        for index in 0..<Int32(count) {
            var symbol = GElf_Sym()
            guard gelf_getsym(symbolData, index, &symbol) != nil,
                  symbol.st_shndx != UInt16(SHN_UNDEF), symbol.st_value != 0,
                  let symbolName = elf_strptr(elf, stringTable, Int(symbol.st_name)),
                  let name = wantedNames.first(where: { strcmp($0.cString, symbolName) == 0 })?.name
            else { continue }
            var version = GElf_Versym()
            let hidden = versionData.map { gelf_getversym($0, index, &version) != nil && version & 0x8000 != 0 } ?? false
            if symbols[name] == nil || (isDefaultVersion[name] == false && !hidden) {
                symbols[name] = symbol.st_value
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
