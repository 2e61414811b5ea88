import CElfutils
import Glibc
import LeakProc

/// The agent's own memory in the target, left out of a scan: its event ring
/// and write buffer still hold the addresses of recent allocations (stale
/// events already sent), which would otherwise hold those blocks "reachable";
/// its library's data and its thread's stack are bookkeeping, not the
/// program's references.
struct AgentFootprint {
    /// The agent's static variables that point at its scratch mappings
    /// (ring.c's slots, agent_thread.c's wbuf), found in its .symtab.
    static let scratchPointers: Set<String> = ["slots", "wbuf"]
    static let libraryName = "libswiftleak-agent.so"
    /// The name the agent gives its thread (agent_thread.c, PR_SET_NAME).
    static let threadName = "swiftleak"

    /// The agent's thread in `pid`, if any.
    static func agentThread(pid: Int32) -> Int32? {
        let process = ProcDirectory(pid: pid)
        return process.taskIDs().first { process.task($0).name() == threadName }
    }

    /// Is this mapping one of the agent library's own?
    static func isAgentLibrary(_ line: MapsLine) -> Bool {
        line.path.hasSuffix("/" + libraryName)
    }

    /// Indices in `maps` of the agent's scratch mappings, found through its
    /// pointers to them; `readWord` reads the target's memory.
    static func scratchMappings(maps: [MapsLine], pid: Int32, readWord: (UInt64) -> UInt64?) -> Set<Int> {
        var found = Set<Int>()
        for pointerAddress in scratchPointerAddresses(maps: maps, pid: pid) {
            guard let word = readWord(pointerAddress) else { continue }
            if let index = maps.firstIndex(where: { $0.start <= word && word < $0.end }) { found.insert(index) }
        }
        return found
    }

    /// Addresses (in the target) of the agent's pointers to its scratch
    /// mappings; empty when the library cannot be read.
    static func scratchPointerAddresses(maps: [MapsLine], pid: Int32) -> [UInt64] {
        guard let base = maps.first(where: { isAgentLibrary($0) && $0.offset == 0 }) else { return [] }
        // Read through map_files: the library may sit in another mount namespace.
        let path = "/proc/\(pid)/map_files/\(String(base.start, radix: 16))-\(String(base.end, radix: 16))"
        let file = access(path, R_OK) == 0 ? path : base.path
        guard let symbols = LocalSymbols(path: file, wanted: scratchPointers) else { return [] }
        return symbols.values.map { base.start - symbols.firstLoadAddress + $0 }
    }
}

/// Defined object symbols of a file's .symtab (local ones included): the
/// values of those named in `wanted`, or (`wanted` nil) all of them with
/// their sizes, to name the global that holds an address.
struct LocalSymbols {
    private(set) var values: [UInt64] = []
    /// Every object symbol when `wanted` is nil, sorted by value.
    private(set) var objects: [(value: UInt64, size: UInt64, name: String)] = []
    private(set) var firstLoadAddress: UInt64 = 0

    init?(path: String, wanted: Set<String>?) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { _ = close(fd) }
        guard elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE), let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return nil }
        defer { elf_end(elf) }
        var programHeaderCount = 0
        guard elf_getphdrnum(elf, &programHeaderCount) == 0 else { return nil }
        for index in 0..<Int32(programHeaderCount) {
            var header = GElf_Phdr()
            if gelf_getphdr(elf, index, &header) != nil, header.p_type == UInt32(PT_LOAD) {
                firstLoadAddress = header.p_vaddr & ~UInt64(0xfff)
                break
            }
        }
        var section = elf_nextscn(elf, nil)
        while let current = section {
            var sectionHeader = GElf_Shdr()
            if gelf_getshdr(current, &sectionHeader) != nil, sectionHeader.sh_type == UInt32(SHT_SYMTAB),
               let data = elf_getdata(current, nil), sectionHeader.sh_entsize > 0 {
                let count = Int(sectionHeader.sh_size / sectionHeader.sh_entsize)
                for index in 0..<Int32(count) {
                    var symbol = GElf_Sym()
                    guard gelf_getsym(data, index, &symbol) != nil, symbol.st_shndx != UInt16(SHN_UNDEF),
                          symbol.st_info & 0xf == UInt8(STT_OBJECT),
                          let cName = elf_strptr(elf, Int(sectionHeader.sh_link), Int(symbol.st_name)) else { continue }
                    let name = String(cString: cName)
                    if let wanted {
                        if wanted.contains(name) { values.append(symbol.st_value) }
                    } else if symbol.st_size > 0 {
                        objects.append((symbol.st_value, symbol.st_size, name))
                    }
                }
            }
            section = elf_nextscn(elf, current)
        }
        objects.sort { $0.value < $1.value }
    }

    /// The object symbol whose bytes hold `value` (a link-time address).
    func object(containing value: UInt64) -> String? {
        var lo = 0
        var hi = objects.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if objects[mid].value <= value { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, value < objects[lo - 1].value + objects[lo - 1].size else { return nil }
        return objects[lo - 1].name
    }
}
