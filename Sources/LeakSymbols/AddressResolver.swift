import CElfutils
import LeakModel
#if canImport(Glibc)
import Glibc
#endif

/// Turns one address into a `Frame` using an already reported `Dwfl`.
///
/// Every step is optional: a module without an ELF file (deleted, JIT memfd)
/// still gives its name, a stripped one still gives .dynsym names, and only
/// modules with DWARF give file and line.
final class AddressResolver {
    private let dwfl: OpaquePointer
    /// Built lazily, at the first lookup in each module.
    private var symbolIndexes: [OpaquePointer: SymbolIndex] = [:]

    init(dwfl: OpaquePointer) {
        self.dwfl = dwfl
    }

    /// Must be called whenever libdwfl's module list was re-reported: modules
    /// may have been freed, and indexes point into their string tables.
    func modulesChanged() {
        symbolIndexes.removeAll()
    }

    /// `lookup` is the address to look up (ip-1 for return addresses);
    /// `reported` is the address to put in the frame.
    func frame(lookup: UInt64, reported: UInt64) -> Frame {
        var frame = Frame(address: reported)
        guard let module = dwfl_addrmodule(dwfl, lookup) else { return frame }
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        let name = dwfl_module_info(module, nil, &start, &end, nil, nil, nil, nil)
        // dwfl_addrmodule may answer with the nearest module for addresses
        // past the last mapping; only an address inside the module is its own.
        guard lookup >= start, lookup < end else { return frame }
        frame.module = name.map { String(cString: $0) }
        // Demangled here, once per address (the symbolizer caches frames), so
        // snapshots, groups and filters all see the names people read.
        frame.function = (inlinedFunctionName(module: module, address: lookup)
            ?? symbolName(module: module, address: lookup)).map(Demangler.demangle)
        if let line = dwfl_module_getsrc(module, lookup) {
            var lineNumber: Int32 = 0
            if let file = dwfl_lineinfo(line, nil, &lineNumber, nil, nil, nil) {
                frame.file = String(cString: file)
                frame.line = UInt32(clamping: lineNumber)
            }
        } else if let (file, line) = lineFromUnitRanges(module: module, address: lookup) {
            frame.file = file
            frame.line = line
        }
        return frame
    }

    /// libdw 0.188 finds an address's compilation unit through .debug_aranges
    /// only, which LLVM-based compilers (swiftc, clang by default) do not
    /// emit: look through the units' own ranges instead.
    private func lineFromUnitRanges(module: OpaquePointer, address: UInt64) -> (String, UInt32)? {
        var bias: Dwarf_Addr = 0
        guard let dwarf = dwfl_module_getdwarf(module, &bias) else { return nil }
        let target = address &- bias
        var offset: Dwarf_Off = 0
        var next: Dwarf_Off = 0
        var headerSize = 0
        while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
            var unit = Dwarf_Die()
            defer { offset = next }
            guard dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &unit) != nil,
                  dwarf_haspc(&unit, target) == 1,
                  let line = dwarf_getsrc_die(&unit, target) else { continue }
            var number: Int32 = 0
            guard dwarf_lineno(line, &number) == 0, let file = dwarf_linesrc(line, nil, nil) else { continue }
            return (String(cString: file), UInt32(clamping: number))
        }
        return nil
    }

    /// The raw (possibly mangled) symbol-table name covering the address.
    private func symbolName(module: OpaquePointer, address: UInt64) -> String? {
        if let index = symbolIndexes[module] { return index.name(containing: address) }
        let index = SymbolIndex(module: module)
        symbolIndexes[module] = index
        return index.name(containing: address)
    }

    /// When the address lies in code inlined into its symbol's function, the
    /// name of the innermost inlined function: the line table already reports
    /// the inlined code's file and line, so the frame stays self-consistent.
    /// Nil when not inlined (the symbol table then has the exact name).
    private func inlinedFunctionName(module: OpaquePointer, address: UInt64) -> String? {
        var bias: Dwarf_Addr = 0
        guard let cu = dwfl_module_addrdie(module, address, &bias) else { return nil }
        var scopes: UnsafeMutablePointer<Dwarf_Die>?
        let count = dwarf_getscopes(cu, address &- bias, &scopes)
        defer { free(scopes) }
        guard count > 0, let scopes else { return nil }
        for index in 0..<Int(count) {
            switch Int(dwarf_tag(scopes + index)) {
            case DW_TAG_inlined_subroutine:
                return linkageName(of: scopes + index)
            case DW_TAG_subprogram:
                return nil
            default:
                continue
            }
        }
        return nil
    }

    /// Prefers the linkage (mangled) name, like the symbol table, so that the
    /// demangler sees one kind of name (DW_AT_name lacks the C++ parameters
    /// and the Swift module and type); follows abstract_origin.
    private func linkageName(of die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        for attribute in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name] {
            var storage = Dwarf_Attribute()
            if let attr = dwarf_attr_integrate(die, UInt32(attribute), &storage),
               let text = dwarf_formstring(attr) {
                return String(cString: text)
            }
        }
        return nil
    }
}
