import CElfutils

/// The address ranges of one module's compilation units, and of the
/// functions in each unit, sorted, for O(log n) "which function holds this
/// address" lookups.
///
/// libdw 0.188 finds an address's unit through .debug_aranges only, which
/// LLVM-based compilers (swiftc, clang) do not emit, and `dwarf_getscopes`
/// finds no function that swiftc nests in a module or type DIE. So unit
/// ranges are read once per module, and a unit's functions at its first
/// lookup. Like `SymbolIndex`, an index must not outlive its module's DWARF.
///
/// A module with .debug_aranges (GCC's output: libc, most C libraries)
/// finds its units there (`ArangesTable`), so only the units that hold
/// looked-up addresses are read whole, and the ranges of every unit (each
/// unit's first DIE, all over .debug_info) are never read for it.
/// Addresses the aranges miss still get the scan of every unit.
final class UnitIndex {
    private struct Entry {
        var low: Dwarf_Addr
        var high: Dwarf_Addr
        /// Offset of the DIE, for `dwarf_offdie`.
        var die: Dwarf_Off
    }

    private let dwarf: OpaquePointer?
    /// The module's load bias: DWARF addresses are `runtime - bias`.
    let bias: Dwarf_Addr
    /// Every unit's ranges, read at the first address the aranges miss.
    private lazy var units: [Entry] = dwarf.map(Self.readUnits) ?? []
    /// The module's .debug_aranges; nil without any.
    private let aranges: ArangesTable?
    /// Per unit DIE offset, its functions' ranges; filled lazily.
    private var functions: [Dwarf_Off: [Entry]] = [:]

    init(module: OpaquePointer) {
        var bias: Dwarf_Addr = 0
        let dwarf = dwfl_module_getdwarf(module, &bias)
        self.dwarf = dwarf
        self.bias = bias
        aranges = dwarf.flatMap(ArangesTable.init)
    }

    private static func readUnits(dwarf: OpaquePointer) -> [Entry] {
        var units: [Entry] = []
        var offset: Dwarf_Off = 0, next: Dwarf_Off = 0
        var headerSize = 0
        while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            defer { offset = next }
            var unit = Dwarf_Die()
            let dieOffset = offset + Dwarf_Off(headerSize)
            guard dwarf_offdie(dwarf, dieOffset, &unit) != nil else { continue }
            appendRanges(of: &unit, offset: dieOffset, to: &units)
        }
        units.sort { $0.low < $1.low }
        DwarfFilePages.release(dwarf: dwarf)
        return units
    }

    /// The unit .debug_aranges gives for the address, if any.
    private func arangesUnit(containing address: Dwarf_Addr, dwarf: OpaquePointer) -> Dwarf_Die? {
        guard let header = aranges?.unit(containing: address) else { return nil }
        readUnitHeaders(before: header, dwarf: dwarf)
        var next: Dwarf_Off = 0
        var headerSize = 0
        var unit = Dwarf_Die()
        guard dwarf_nextcu(dwarf, header, &next, &headerSize, nil, nil, nil) == 0,
              dwarf_offdie(dwarf, header + Dwarf_Off(headerSize), &unit) != nil else { return nil }
        return unit
    }

    /// How far into .debug_info libdw has read unit headers.
    private var headersReadUpTo: Dwarf_Off = 0
    private static let headerChunk: Dwarf_Off = 512 * 1024

    /// libdw (0.188) finds a unit by reading every unit header before it,
    /// the first time one past them is asked for; for a unit near the end of
    /// libc's .debug_info that touches nearly all of it. Done here half a
    /// MB at a time, each part's pages given back before the next, so they
    /// are never all resident at once.
    private func readUnitHeaders(before header: Dwarf_Off, dwarf: OpaquePointer) {
        guard header > headersReadUpTo + Self.headerChunk else { return }
        var offset = headersReadUpTo, next: Dwarf_Off = 0, chunkStart = headersReadUpTo
        var headerSize = 0
        var unit = Dwarf_Die()
        while offset < header, dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            if offset - chunkStart >= Self.headerChunk {
                // Makes libdw read (and keep) every unit header up to here.
                _ = dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &unit)
                DwarfFilePages.release(dwarf: dwarf)
                chunkStart = offset
            }
            offset = next
        }
        headersReadUpTo = max(headersReadUpTo, offset)
    }

    /// The unit and the function (subprogram DIE) whose ranges hold
    /// `address` (a DWARF address, bias removed); the function is nil when
    /// only the unit covers it.
    func lookup(_ address: Dwarf_Addr) -> (unit: Dwarf_Die, function: Dwarf_Die?)? {
        guard let dwarf,
              var unit = arangesUnit(containing: address, dwarf: dwarf) ?? Self.die(in: units, containing: address, dwarf: dwarf)
        else { return nil }
        let unitOffset = dwarf_dieoffset(&unit)
        let entries = functions[unitOffset] ?? {
            var entries: [Entry] = []
            Self.collectFunctions(under: &unit, into: &entries)
            entries.sort { $0.low < $1.low }
            functions[unitOffset] = entries
            return entries
        }()
        return (unit, Self.die(in: entries, containing: address, dwarf: dwarf))
    }

    /// Subprograms with code, wherever they sit: swiftc nests them in module
    /// and type DIEs, C++ compilers may in namespaces. Not inside other
    /// subprograms (their nested scopes are found by descending from them).
    private static func collectFunctions(under parent: inout Dwarf_Die, into entries: inout [Entry]) {
        var child = Dwarf_Die(), sibling = Dwarf_Die()
        guard dwarf_child(&parent, &child) == 0 else { return }
        repeat {
            switch Int(dwarf_tag(&child)) {
            case DW_TAG_subprogram:
                appendRanges(of: &child, offset: dwarf_dieoffset(&child), to: &entries)
            case DW_TAG_module, DW_TAG_namespace, DW_TAG_structure_type, DW_TAG_class_type,
                 DW_TAG_union_type, DW_TAG_enumeration_type:
                collectFunctions(under: &child, into: &entries)
            default:
                break
            }
            guard dwarf_siblingof(&child, &sibling) == 0 else { return }
            child = sibling
        } while true
    }

    private static func appendRanges(of die: inout Dwarf_Die, offset: Dwarf_Off, to entries: inout [Entry]) {
        var base: Dwarf_Addr = 0, low: Dwarf_Addr = 0, high: Dwarf_Addr = 0
        var cursor = dwarf_ranges(&die, 0, &base, &low, &high)
        while cursor > 0 {
            if high > low { entries.append(Entry(low: low, high: high, die: offset)) }
            cursor = dwarf_ranges(&die, cursor, &base, &low, &high)
        }
    }

    /// The DIE of the entry covering `address` in entries sorted by `low`.
    private static func die(in entries: [Entry], containing address: Dwarf_Addr, dwarf: OpaquePointer) -> Dwarf_Die? {
        // Last entry starting at or before the address.
        var lower = 0, upper = entries.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if entries[middle].low <= address { lower = middle + 1 } else { upper = middle }
        }
        // Ranges may nest (a unit's range spanning another's code): look
        // back a little for one that really covers the address.
        var index = lower - 1
        while index >= 0 && index >= lower - 8 {
            if address < entries[index].high {
                var die = Dwarf_Die()
                if dwarf_offdie(dwarf, entries[index].die, &die) != nil { return die }
            }
            index -= 1
        }
        return nil
    }
}
