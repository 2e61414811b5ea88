import LeakSymbols

/// Swift class metadata made at run time (generic classes' instances): it
/// lives on the heap, so no symbol names it, but its nominal type
/// descriptor is a `...CMn` symbol of the module that declares the class.
///
/// Layout on Linux (no Objective-C interop), from the metadata's address
/// point: kind (0 for a class), superclass, flags and instance address
/// point, instance size and alignment mask, class size and class address
/// point, then the descriptor pointer at byte 40.
enum SwiftClassMetadata {
    static let descriptorOffset: UInt64 = 40

    /// The class's name (without generic arguments: `Swift._ContiguousArrayStorage`),
    /// or nil unless the words read as class metadata whose descriptor is a
    /// nominal type descriptor symbol.
    static func heapClassName(metadata: UInt64, memory: TargetMemory, symbols: DataSymbolLookup) -> String? {
        guard let bytes = memory.read(metadata, count: Int(descriptorOffset) + 8) else { return nil }
        let words = bytes.withUnsafeBytes { raw in (0..<6).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) } }
        guard words[0] == 0, let descriptor = symbols.dataSymbol(at: words[5]), descriptor.offset == 0 else { return nil }
        let demangled = Demangler.demangle(descriptor.name)
        guard descriptor.name.hasSuffix("CMn") else { return nil }
        return demangled.dropPrefix("nominal type descriptor for ")
    }
}
