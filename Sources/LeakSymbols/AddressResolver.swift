import CElfutils
import LeakModel
#if canImport(Glibc)
import Glibc
#endif

/// Turns one address into its frames (one per inline level) using an
/// already reported `Dwfl`.
///
/// Every step is optional: a module without an ELF file (deleted, JIT memfd)
/// still gives its name, a stripped one still gives .dynsym names, and only
/// modules with DWARF give file and line.
final class AddressResolver {
    let dwfl: OpaquePointer
    /// Built lazily, at the first lookup in each module.
    private var symbolIndexes: [OpaquePointer: SymbolIndex] = [:]
    private var unitIndexes: [OpaquePointer: UnitIndex] = [:]
    /// Data symbols (`dataSymbol(at:)`), built at the first lookup in each module.
    var dataIndexes: [OpaquePointer: SymbolIndex] = [:]

    init(dwfl: OpaquePointer) {
        self.dwfl = dwfl
    }

    /// Must be called whenever libdwfl's module list was re-reported: modules
    /// may have been freed, and indexes point into their string tables.
    func modulesChanged() {
        symbolIndexes.removeAll()
        unitIndexes.removeAll()
        dataIndexes.removeAll()
    }

    /// One frame per inline level, innermost first (see `InlineChain`).
    /// `lookup` is the address to look up (ip-1 for return addresses);
    /// `reported` is the address to put in every frame. A function entry
    /// (`isFunctionEntry`, a Swift async resume point) without a line of its
    /// own takes the first line of the function's body.
    func frames(lookup: UInt64, reported: UInt64, isFunctionEntry: Bool = false) -> [Frame] {
        var frame = Frame(address: reported)
        guard let module = dwfl_addrmodule(dwfl, lookup) else { return [frame] }
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        let name = dwfl_module_info(module, nil, &start, &end, nil, nil, nil, nil)
        // dwfl_addrmodule may answer with the nearest module for addresses
        // past the last mapping; only an address inside the module is its own.
        guard lookup >= start, lookup < end else { return [frame] }
        frame.module = name.map { String(cString: $0) }
        let symbol = symbolName(module: module, address: lookup)
        let units = unitIndex(module: module)
        guard let (unit, function) = units.lookup(lookup &- units.bias) else {
            // No DWARF unit covers it: the symbol table's name, and a line if
            // libdwfl finds one by other means.
            frame.function = symbol.map(Demangler.demangle)
            if let line = dwfl_module_getsrc(module, lookup) {
                var lineNumber: Int32 = 0
                if let file = dwfl_lineinfo(line, nil, &lineNumber, nil, nil, nil) {
                    frame.file = String(cString: file)
                    frame.line = UInt32(clamping: lineNumber)
                }
            }
            return [frame]
        }
        let levels = InlineChain(unit: unit, function: function, address: lookup &- units.bias).levels
        if isFunctionEntry, let outer = levels.last, !InlineChain.hasLine(outer), let function {
            var unit = unit, function = function
            if let body = InlineChain.firstLineAddress(unit: &unit, after: lookup &- units.bias),
               dwarf_haspc(&function, body) == 1 {
                return frames(lookup: body &+ units.bias, reported: reported)
            }
        }
        // Demangled here, once per address (the symbolizer caches frames), so
        // snapshots, groups and filters all see the names people read.
        return levels.map { level in
            var levelFrame = frame
            // The real function is named by the symbol table, like frames without DWARF.
            levelFrame.function = (level.isInlined ? level.name : symbol ?? level.name).map(Demangler.demangle)
            levelFrame.file = level.file
            levelFrame.line = level.line
            levelFrame.isInlined = level.isInlined
            return levelFrame
        }
    }

    private func unitIndex(module: OpaquePointer) -> UnitIndex {
        if let index = unitIndexes[module] { return index }
        let index = UnitIndex(module: module)
        unitIndexes[module] = index
        return index
    }

    /// The raw (possibly mangled) symbol-table name covering the address.
    private func symbolName(module: OpaquePointer, address: UInt64) -> String? {
        if let index = symbolIndexes[module] { return index.name(containing: address) }
        let index = SymbolIndex(module: module)
        symbolIndexes[module] = index
        return index.name(containing: address)
    }
}
