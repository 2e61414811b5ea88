import CElfutils

/// The function (or data) symbols of one module sorted by address, for
/// O(log n) lookups.
///
/// libdwfl's `dwfl_module_addrinfo` walks the whole symbol table on every
/// call (measured: ~0.3 ms per address in libc, most of the cold cost), so
/// we read the table once per module and binary-search it. Names point into
/// the module's string table: an index must not outlive its module, which is
/// why `Symbolizer` drops all indexes whenever it re-reports modules.
struct SymbolIndex {
    private struct Entry {
        var start: UInt64
        var size: UInt64
        /// start+size; for a sizeless symbol, the end of its section.
        var end: UInt64
        var rank: UInt8 // binding preference among aliases: global, weak, local
        var name: UnsafePointer<CChar>
    }

    private let entries: [Entry]

    /// Which symbols an index holds.
    enum Kind {
        /// Code: functions and ifuncs (frames).
        case functions
        /// Objects: globals, vtables, type metadata (`DataSymbols`).
        case data

        func keeps(_ type: Int32) -> Bool {
            switch self {
            case .functions: return type == STT_FUNC || type == STT_GNU_IFUNC
            case .data: return type == STT_OBJECT
            }
        }
    }

    /// Reads .symtab (or .dynsym for a stripped module; both may come from a
    /// separate debug file) through libdwfl, which applies the load bias.
    init(module: OpaquePointer, kind: Kind = .functions) {
        let count = dwfl_module_getsymtab(module)
        var entries: [Entry] = []
        if count > 1 {
            entries.reserveCapacity(Int(count))
            // Index 0 is the null symbol.
            for index in 1..<count {
                var symbol = GElf_Sym()
                var address: GElf_Addr = 0
                var section: GElf_Word = 0
                var elf: OpaquePointer?
                var bias: Dwarf_Addr = 0
                guard let name = dwfl_module_getsym_info(module, index, &symbol, &address, &section, &elf, &bias),
                      name.pointee != 0, section != UInt32(SHN_UNDEF)
                else { continue }
                let type = Int32(symbol.st_info & 0xf), binding = Int32(symbol.st_info >> 4)
                guard kind.keeps(type) else { continue }
                let rank: UInt8 = binding == STB_GLOBAL ? 0 : (binding == STB_WEAK ? 1 : 2)
                let end = symbol.st_size > 0
                    ? address &+ symbol.st_size
                    : Self.sectionEnd(elf: elf, section: section, bias: bias) ?? address &+ 1
                entries.append(Entry(start: address, size: symbol.st_size, end: end, rank: rank, name: name))
            }
        }
        // Among aliases at one address, sized ones first, then by binding.
        entries.sort {
            if $0.start != $1.start { return $0.start < $1.start }
            if ($0.size == 0) != ($1.size == 0) { return $1.size == 0 }
            return $0.rank < $1.rank
        }
        // Keep the preferred alias only, so the nearest entry is the best name.
        var unique: [Entry] = []
        unique.reserveCapacity(entries.count)
        for entry in entries where unique.last?.start != entry.start {
            unique.append(entry)
        }
        self.entries = unique
    }

    /// Where the section holding a sizeless symbol ends: such a symbol (often
    /// hand-written assembly, or _init) covers at most the rest of its section,
    /// never the next section (say, a PLT).
    private static func sectionEnd(elf: OpaquePointer?, section: GElf_Word, bias: Dwarf_Addr) -> UInt64? {
        var header = GElf_Shdr()
        guard let elf, let scn = elf_getscn(elf, Int(section)), gelf_getshdr(scn, &header) != nil else { return nil }
        return header.sh_addr &+ header.sh_size &+ bias
    }

    /// The name of the function containing `address`: a sized symbol that
    /// covers it, else the nearest preceding sizeless one if in the same
    /// section. Nil in gaps between sized functions.
    func name(containing address: UInt64) -> String? {
        symbol(containing: address).map { String(cString: $0.name) }
    }

    /// The symbol containing `address` (as `name(containing:)`) and where it starts.
    func symbol(containing address: UInt64) -> (name: UnsafePointer<CChar>, start: UInt64)? {
        // Last entry starting at or before the address.
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let nearest = low - 1
        // A few steps back find an enclosing symbol that starts earlier
        // (e.g. a function with a nested local label symbol).
        // A sizeless one only counts when nearest: past a sized function
        // that ends before the address, a label further back is unrelated.
        for index in stride(from: nearest, through: max(0, nearest - 7), by: -1) {
            let entry = entries[index]
            if address < entry.end, entry.size > 0 || index == nearest {
                return (entry.name, entry.start)
            }
        }
        return nil
    }
}
