/// The one list of frames that belong to allocators rather than to the code
/// that asked for memory: allocation entry points, the profiler's agent, and
/// the Swift, C++ and Rust standard libraries. Analyses drop them from the
/// top of each stack so frame 0 is the caller that is responsible for the
/// block; `--raw` keeps them.
public enum AllocatorFrames {
    /// Exact function names (after `normalizedName`) of C, C++ and Swift
    /// allocation entry points, and libc helpers that allocate for their caller.
    public static let functionNames: Set<String> = [
        // C heap API and its glibc aliases.
        "malloc", "free", "cfree", "calloc", "realloc", "reallocarray",
        "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
        "__posix_memalign", "_int_malloc", "_int_realloc", "_int_memalign", "_mid_memalign",
        // libc functions that return memory the caller must free.
        "strdup", "strndup", "__strdup", "__strndup", "wcsdup", "__wcsdup",
        "asprintf", "vasprintf", "__asprintf", "__vasprintf", "__vasprintf_internal",
        "getline", "getdelim", "__getdelim", "__getline",
        "realpath", "__realpath", "__libc_alloc_buffer_allocate",
        // C++ global operator new, demangled (parameters are stripped first).
        "operator new", "operator new[]",
        // Swift runtime allocation entry points (swift_initStackObject is not one:
        // it initializes memory on the caller's stack).
        "swift_allocObject", "_swift_allocObject_", "swift_slowAlloc", "swift_slowAllocTyped",
        "swift_allocBox", "swift_allocEmptyBox", "swift_allocError", "swift_bufferAllocate",
        "swift_coroFrameAlloc", "swift_task_alloc", "swift_job_allocate",
    ]

    /// Name prefixes: glibc's internal `__libc_malloc` & co and the Itanium
    /// mangling of global operator new / new[] (`_Znwm`, `_ZnamRKSt9nothrow_t`,
    /// `_ZnwmSt11align_val_t`...; `_Znw`/`_Zna` can only be those operators).
    public static let functionPrefixes: [String] = ["__libc_", "_Znw", "_Zna"]

    /// `__libc_` names that are not allocators (they sit at the bottom of
    /// every stack and must never be folded away).
    static let excludedPrefixes: [String] = ["__libc_start", "__libc_csu"]

    /// Module file names (last path component, any version suffix) whose
    /// frames are all allocator frames: the profiler's own agent, and the
    /// Swift standard library and runtime. An array's, string's or
    /// dictionary's storage is allocated inside libswiftCore
    /// (`_ContiguousArrayBuffer.init(_uninitializedCount:...)`,
    /// `_allocateStringStorage`...); the line responsible is the caller's, the
    /// first frame outside it. `--raw` shows them all.
    public static let moduleNames: [String] = ["libswiftleak-agent.so", "libswiftCore.so"]

    /// The C++ standard libraries, folded like Swift's: a std::string's,
    /// std::vector's or std::make_shared's block is allocated inside them
    /// (`basic_string::_M_construct` in libstdc++.so, `_M_realloc_insert`,
    /// `__allocate_shared`, `__new_allocator::allocate`, inlined from the
    /// headers), and the line responsible is the program's that asked for
    /// the string, the growth or the object.
    public static let cxxStandardLibrary = StandardLibrary(
        // libstdc++ (GCC) and libc++ (LLVM, `std::__1::`) both live in `std`;
        // libstdc++'s allocator and iterator helpers in `__gnu_cxx`.
        namespaces: ["std", "__gnu_cxx"],
        modules: ["libstdc++.so", "libc++.so", "libc++abi.so"],
        // Inlined header code: /usr/include/c++/12/bits/basic_string.h,
        // /usr/lib/llvm-14/include/c++/v1/vector.
        sourcePaths: ["/include/c++/"],
        functionPrefixes: []
    )

    /// Rust's standard library, folded the same way: `vec!`, `String`,
    /// `Box::new` and `HashMap` growth allocate in `alloc::` (RawVec,
    /// `alloc::alloc::alloc`), through the `__rust_alloc` shims, and the
    /// runtime (`std::rt::lang_start`) allocates for the program's start.
    /// Most of it is inlined into the program, so file paths matter as much
    /// as names.
    public static let rustStandardLibrary = StandardLibrary(
        // `__rustc` is the crate rustc names the allocator shims in
        // (`__rustc::__rust_alloc`); std's HashMap is the `hashbrown` crate,
        // whose code is instantiated in the program under that name.
        namespaces: ["std", "core", "alloc", "__rustc", "hashbrown"],
        // A program linked with `-C prefer-dynamic`: libstd-<hash>.so.
        modules: ["libstd-*.so"],
        // rustup's toolchains remap the standard library's sources to
        // /rustc/<commit>/library/..., its vendored crates to /rust/deps/...;
        // Debian's to /usr/src/rustc-<version>/library/...; some debug info
        // keeps them relative (library/core/src/...).
        sourcePaths: ["library/std/src/", "library/core/src/", "library/alloc/src/", "/rust/deps/"],
        // The global allocator's unmangled entry points: __rust_alloc,
        // __rust_realloc, __rdl_alloc (the default), __rg_alloc (#[global_allocator]).
        functionPrefixes: ["__rust_", "__rdl_", "__rg_"]
    )

    /// The name used for matching: without parameters ("swift::swift_slowAlloc(unsigned long, unsigned long)"),
    /// ELF symbol versions or PLT markers ("malloc@plt", "malloc@@GLIBC_2.2.5"),
    /// glibc's "__GI_" internal alias prefix and a C++ "swift::" namespace.
    public static func normalizedName(_ function: String) -> Substring {
        var name = Substring(function)
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        if let paren = name.firstIndex(of: "(") { name = name[..<paren] }
        while name.last == " " { name = name.dropLast() }
        if name.hasPrefix("__GI_") { name = name.dropFirst(5) }
        if name.hasPrefix("swift::") { name = name.dropFirst(7) }
        // Symbolizers may hand over linkage names: the Swift runtime's C++
        // helpers are "_ZN5swift15swift_slowAllocEmm" or, when file-static,
        // "_ZL19_swift_allocObject_PK...". Match them by their plain name.
        for prefix in ["_ZN5swift", "_ZL"] where name.hasPrefix(prefix) {
            if let plain = lengthPrefixedIdentifier(name.dropFirst(prefix.count)) { return plain }
        }
        return name
    }

    /// The identifier at the start of an Itanium "<length><identifier>" pair.
    static func lengthPrefixedIdentifier(_ s: Substring) -> Substring? {
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard let length = Int(digits), length > 0 else { return nil }
        let rest = s.dropFirst(digits.count)
        guard rest.count >= length else { return nil }
        return rest.prefix(length)
    }

    public static func isAllocator(_ frame: Frame) -> Bool {
        if let module = frame.module, isAllocatorModule(module) { return true }
        if cxxStandardLibrary.contains(frame) || rustStandardLibrary.contains(frame) { return true }
        guard let function = frame.function else { return false }
        if isSwiftStandardLibrary(function) { return true }
        let name = normalizedName(function)
        if functionNames.contains(String(name)) { return true }
        for prefix in functionPrefixes where name.hasPrefix(prefix) {
            return !excludedPrefixes.contains { name.hasPrefix($0) }
        }
        return isSwiftAllocatingInitializer(name)
    }

    /// Swift standard library code compiled into the program: what `-O`
    /// inlines (`Array(repeating:count:)`, `UnsafeMutableRawPointer.allocate`)
    /// and the generic specializations it emits there
    /// (`generic specialization <...> of Swift._ContiguousArrayBuffer...`).
    /// Folded like libswiftCore itself, so an array's storage belongs to the
    /// line that built or appended. Code of the program in an extension of a
    /// standard type reads `(extension in App):Swift.Array...` and stays.
    static func isSwiftStandardLibrary(_ demangled: String) -> Bool {
        var name = Substring(demangled)
        for qualifier in ["static ", "merged ", "partial apply for ", "reabstraction thunk helper from "] where name.hasPrefix(qualifier) {
            name = name.dropFirst(qualifier.count)
        }
        if name.hasPrefix("generic specialization <"), let of = name.firstRange(of: "> of ") {
            name = name[of.upperBound...]
        }
        if name.hasPrefix("(extension in Swift):") { name = name.dropFirst("(extension in Swift):".count) }
        return name.hasPrefix("Swift.")
    }

    /// A class's `__allocating_init` is Swift's `operator new`: compiler
    /// generated, without a source line of its own, it only calls
    /// swift_allocObject and the initializer. Mangled, it ends in "fC".
    static func isSwiftAllocatingInitializer(_ name: Substring) -> Bool {
        if name.contains("__allocating_init") { return true }
        return (name.hasPrefix("$s") || name.hasPrefix("_$s")) && name.hasSuffix("fC")
    }

    static func isAllocatorModule(_ path: String) -> Bool {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return moduleNames.contains { file == $0 || file.hasPrefix($0 + ".") }
    }

    /// Drops the leading allocator frames, and the executor's frames at the
    /// end of a stack that ran a Swift task (`executorStart`). When every frame is an allocator
    /// frame (a stack cut short by the depth limit), the outermost one is kept
    /// so the memory still has somewhere to be reported.
    public static func fold(_ frames: [Frame]) -> [Frame] {
        if let python = PythonFrames.fold(frames) { return python }
        let frames = frames[..<executorStart(count: frames.count) { frames[$0] }]
        guard let start = foldStart(count: frames.count, isAllocator: { isAllocator(frames[$0]) }) else { return [] }
        return Array(frames[start...])
    }

    /// Where `fold` makes a stack of `count` frames start (nil when empty),
    /// for callers that keep frames as indices and cache `isAllocator`.
    public static func foldStart(count: Int, isAllocator: (Int) -> Bool) -> Int? {
        guard count > 0 else { return nil }
        return (0..<count).first { !isAllocator($0) } ?? count - 1
    }
}
