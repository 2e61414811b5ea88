/// CPython's own frames in a stack that also holds Python frames: the
/// allocator, object protocol and eval loop between an allocation and the
/// Python line (or C extension) that asked for it. Analyses fold them like
/// allocator frames, so frame 0 is the first Python frame or the first
/// native frame of an extension; `--raw` keeps them.
public enum PythonFrames {
    /// The module name a Python frame carries (its file is the .py path).
    public static let moduleName = "python"

    public static func isPython(_ frame: Frame) -> Bool { frame.module == moduleName }

    /// Whether a native frame belongs to the interpreter itself: libpython3.X.so
    /// or an executable named python3.X that carries the interpreter.
    static func isInterpreter(_ frame: Frame) -> Bool {
        guard let module = frame.module, module != moduleName else { return false }
        let file = module.split(separator: "/").last.map(String.init) ?? module
        return file.hasPrefix("libpython3") || file.hasPrefix("python3")
    }

    /// The folded stack when it holds a Python frame, nil otherwise (then the
    /// allocator rules alone apply). The interpreter's frames between two
    /// Python frames (a call made through C, as 3.11's `Thread.run` makes)
    /// go too; the ones below the outermost Python frame stay.
    public static func fold(_ frames: [Frame]) -> [Frame]? {
        foldedPositions(count: frames.count, isPython: { isPython(frames[$0]) },
                        isInterpreter: { isInterpreter(frames[$0]) },
                        isAllocator: { AllocatorFrames.isAllocator(frames[$0]) })?.map { frames[$0] }
    }

    /// `fold` on positions, for callers that keep frames as indices and
    /// decide each predicate once per distinct frame.
    static func foldedPositions(count: Int, isPython: (Int) -> Bool, isInterpreter: (Int) -> Bool,
                                isAllocator: (Int) -> Bool) -> [Int]? {
        guard let last = (0..<count).last(where: isPython),
              let first = (0..<count).first(where: { isPython($0) || (!isInterpreter($0) && !isAllocator($0)) })
        else { return nil }
        var folded: [Int] = []
        folded.reserveCapacity(count - first)
        for index in first..<count where index > last || !isInterpreter(index) {
            folded.append(index)
        }
        return folded
    }

    /// The frame a per-frame grouping keys on: as tracemalloc does, the
    /// innermost Python frame for file, line and function, so an extension's
    /// native memory is counted under the Python line that called it.
    static func keyFrame(_ frames: [Frame], groupBy: GroupBy) -> Frame {
        switch groupBy {
        case .lineno, .filename, .function:
            return frames.first(where: isPython) ?? frames[0]
        case .module, .traceback, .type:
            return frames[0]
        }
    }
}
