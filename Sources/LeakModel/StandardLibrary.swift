/// One language's standard library, as allocator folding recognises its
/// frames: by the module the code is in, by the demangled function name's
/// root namespace (or crate), or, for code inlined into the program, by the
/// source file. The lists themselves are in `AllocatorFrames`.
public struct StandardLibrary: Sendable {
    /// Root namespaces or crates of the library's functions.
    public let namespaces: Set<String>
    /// Module file names, any version suffix allowed; `*` matches any characters.
    public let modules: [String]
    /// Path fragments of the library's sources.
    public let sourcePaths: [String]
    /// Unqualified entry points (C linkage) that belong to the library.
    public let functionPrefixes: [String]
    private let moduleGlobs: [Glob]

    public init(namespaces: Set<String>, modules: [String], sourcePaths: [String], functionPrefixes: [String]) {
        self.namespaces = namespaces
        self.modules = modules
        self.sourcePaths = sourcePaths
        self.functionPrefixes = functionPrefixes
        self.moduleGlobs = modules.flatMap { [Glob($0), Glob($0 + ".*")] }
    }

    public func contains(_ frame: Frame) -> Bool {
        if let module = frame.module, isModule(module) { return true }
        // Without a name only the file can tell; with one, the name decides:
        // a frame that was not expanded into its inline levels has the
        // program's function name and the innermost inlined line's file, and
        // stays the program's.
        guard let function = frame.function else { return frame.file.map(isSource) ?? false }
        if functionPrefixes.contains(where: { function.hasPrefix($0) }) { return true }
        guard function.contains("::") else { return false }
        let name = DemangledName.qualifiedName(function)
        guard let (selfType, trait) = DemangledName.implParts(name) else { return isLibraryPath(name) }
        // Rust impls: `<Self>::f` is the library's unless Self is a type of
        // another crate (`<str>`, `<[u8]>` and `<alloc::vec::Vec<T>>` are
        // the library's); `<Self as Trait>::f` when the trait is the
        // library's and Self is not another crate's type. A program type's
        // impl of a library trait is the program's code, but a trait's
        // default method (`Iterator::collect`) shows the same name: its
        // source file tells.
        let selfIsForeign = DemangledName.root(selfType).map { !namespaces.contains(String($0)) } ?? false
        guard let trait else { return !selfIsForeign }
        guard isLibraryPath(trait) else { return false }
        return !selfIsForeign || (frame.file.map(isSource) ?? false)
    }

    func isModule(_ path: String) -> Bool {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return moduleGlobs.contains { $0.matches(file) }
    }

    func isSource(_ file: String) -> Bool {
        sourcePaths.contains { file.contains($0) }
    }

    private func isLibraryPath(_ path: Substring) -> Bool {
        DemangledName.root(path).map { namespaces.contains(String($0)) } ?? false
    }
}
