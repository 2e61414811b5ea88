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
        guard let last = frames.lastIndex(where: isPython),
              let first = frames.firstIndex(where: {
                  isPython($0) || (!isInterpreter($0) && !AllocatorFrames.isAllocator($0))
              }) else { return nil }
        var folded: [Frame] = []
        folded.reserveCapacity(frames.count - first)
        for index in first..<frames.count where index > last || !isInterpreter(frames[index]) {
            folded.append(frames[index])
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
