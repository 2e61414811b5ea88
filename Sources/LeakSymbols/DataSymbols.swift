import CElfutils

/// A data symbol of a live process's module: what a pointer into a global,
/// a C++ vtable or Swift type metadata points at.
public struct DataSymbol: Hashable, Sendable {
    /// The raw (mangled) name, as in .symtab or .dynsym.
    public var name: String
    /// The module's path.
    public var module: String
    /// How far into the symbol the address is.
    public var offset: UInt64

    public init(name: String, module: String, offset: UInt64) {
        self.name = name
        self.module = module
        self.offset = offset
    }
}

extension AddressResolver {
    /// Looks `address` up among the OBJECT symbols of .symtab (or .dynsym):
    /// vtables and Swift metadata are local symbols in executables, so the
    /// dynamic table alone would miss them.
    func dataSymbol(at address: UInt64) -> DataSymbol? {
        guard let module = dwfl_addrmodule(dwfl, address) else { return nil }
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        let path = dwfl_module_info(module, nil, &start, &end, nil, nil, nil, nil)
        guard address >= start, address < end else { return nil }
        let index: SymbolIndex
        if let known = dataIndexes[module] {
            index = known
        } else {
            index = SymbolIndex(module: module, kind: .data)
            dataIndexes[module] = index
        }
        guard let symbol = index.symbol(containing: address) else { return nil }
        return DataSymbol(name: String(cString: symbol.name), module: path.map { String(cString: $0) } ?? "",
                          offset: address &- symbol.start)
    }
}
