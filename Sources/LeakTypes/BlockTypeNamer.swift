import LeakSymbols

/// Names the type of a live block from what its memory says, never from a
/// guess: nil ("unknown") unless one of these proves out.
///
/// - A Swift class instance: word 0 is its class metadata, a `...CN` (or
///   inside a `...CMf`) symbol; generic classes have metadata made at run
///   time on the heap, named through its nominal type descriptor
///   (`SwiftClassMetadata`, when `swiftRuntime`), without the generic arguments.
/// - A C++ polymorphic object: word 0 points into a `_ZTV...` vtable.
/// - A Python object (when `pythonObjects`): `PythonObjectType`.
///
/// Results are cached per distinct pointer, so a million blocks of ten
/// types cost ten symbol lookups. Not thread-safe: one namer per scan.
public final class BlockTypeNamer {
    private let symbols: DataSymbolLookup
    private let memory: TargetMemory
    private let swiftRuntime: Bool
    private let pythonObjects: Bool
    /// Word 0 -> the class or vtable it names, or nil when it names none.
    private var byWord0: [UInt64: String?] = [:]
    /// Candidate `ob_type` -> the Python type's name, or nil when it is none.
    private var byPythonType: [UInt64: String?] = [:]

    /// Each probe costs reads for words that are no types, so each is on
    /// only for a target that can hold what it looks for.
    /// - Parameters:
    ///   - swiftRuntime: also read heap-allocated Swift class metadata (the
    ///     target maps the Swift runtime).
    ///   - pythonObjects: also look for Python objects (a CPython target).
    public init(symbols: DataSymbolLookup, memory: TargetMemory, swiftRuntime: Bool, pythonObjects: Bool) {
        self.symbols = symbols
        self.memory = memory
        self.swiftRuntime = swiftRuntime
        self.pythonObjects = pythonObjects
    }

    /// The block's type, or nil when its memory names none.
    public func name(_ head: BlockHead) -> String? {
        guard let word0 = head.word(0) else { return nil }
        if let name = cached(&byWord0, word0, classOrVTable) { return name }
        guard pythonObjects else { return nil }
        for index in PythonObjectType.typeWordIndices {
            guard let candidate = head.word(index) else { break }
            if let name = cached(&byPythonType, candidate, { PythonObjectType.name(typeObject: $0, memory: memory) }) {
                return name
            }
        }
        return nil
    }

    private func cached(_ cache: inout [UInt64: String?], _ key: UInt64, _ compute: (UInt64) -> String?) -> String? {
        if let known = cache[key] { return known }
        let name = Self.isPlausiblePointer(key) ? compute(key) : nil
        cache[key] = name
        return name
    }

    /// Small numbers (counts, refcounts) and unaligned words point at nothing.
    static func isPlausiblePointer(_ word: UInt64) -> Bool {
        word >= 0x10000 && word & 7 == 0 && word < 1 << 56
    }

    private func classOrVTable(_ pointer: UInt64) -> String? {
        if let symbol = symbols.dataSymbol(at: pointer) {
            return Self.typeName(metadataOrVTable: symbol)
        }
        guard swiftRuntime else { return nil }
        return SwiftClassMetadata.heapClassName(metadata: pointer, memory: memory, symbols: symbols)
    }

    /// What a pointer into `symbol` names as an object's first word: a Swift
    /// class's metadata (its address point) or a C++ vtable's first slot.
    static func typeName(metadataOrVTable symbol: DataSymbol) -> String? {
        let demangled = Demangler.demangle(symbol.name)
        if symbol.offset == 0, let name = demangled.dropPrefix("type metadata for ") {
            return name
        }
        // Full metadata starts with a prefix (destructor, value witnesses,
        // layout string) before the address point objects point to.
        if symbol.offset > 0, symbol.offset <= 32, symbol.offset & 7 == 0,
           let name = demangled.dropPrefix("full type metadata for ") {
            return name
        }
        // A vtable's address point follows offset-to-top and the RTTI
        // pointer, and further vcall/vbase offsets with virtual bases.
        if symbol.name.hasPrefix("_ZTV"), symbol.offset >= 16, symbol.offset & 7 == 0,
           let name = demangled.dropPrefix("vtable for ") {
            return name
        }
        return nil
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) && count > prefix.count ? String(dropFirst(prefix.count)) : nil
    }
}
