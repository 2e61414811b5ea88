/// The frames of whatever runs Swift tasks: the concurrency runtime's job
/// entry points, the executor that called them (libdispatch's worker
/// threads, the main queue, SwiftNIO's event loop) and the thread's start.
/// In a stack that ran a task they sit below the task's frames and its
/// awaiting callers, say nothing about who asked for the memory, and are
/// folded away like allocator frames; `--raw` keeps them.
extension AllocatorFrames {
    /// Name prefixes of the functions that run one job of a task (demangled,
    /// or the linkage name a symbolizer may give). Prefixes, not names: every
    /// frame of every stack is checked, and `hasPrefix` is the cheap test.
    public static let jobRunnerPrefixes: [String] = [
        "swift_job_run",   // and _on_task_executor, _on_serial_and_task_executor
        "swift::runJobInEstablishedExecutorContext", "_ZN5swift34runJobInEstablishedExecutorContext",
    ]

    /// The concurrency runtime's module: its frames next to a job runner
    /// (the runtime's own resume functions at the root of a task's async
    /// callers) are the executor's too.
    public static let concurrencyModules: [String] = ["libswift_Concurrency.so"]

    /// The index where the executor's frames start in a stack of `count`
    /// frames (innermost first), or `count` when none: the innermost job
    /// runner, and before it the runtime's frames and the thunks that
    /// started the task. Everything from there outwards was the executor's.
    /// A stack cut short by the depth limit before its job runner still
    /// loses its trailing runtime and thunk async callers.
    public static func executorStart(count: Int, frame: (Int) -> Frame) -> Int {
        let runner = (0..<count).first { isJobRunner(frame($0)) }
        var start = runner ?? count
        while start > 1 {
            let previous = frame(start - 1)
            let isRuntime = isConcurrencyModule(previous)
            guard previous.isAsync ? isRuntime || isTaskEntryThunk(previous) : runner != nil && isRuntime else { break }
            start -= 1
        }
        return start
    }

    public static func isJobRunner(_ frame: Frame) -> Bool {
        // Every prefix starts with "s" or "_": most names are out after one byte.
        guard let function = frame.function, let first = function.utf8.first,
              first == UInt8(ascii: "s") || first == UInt8(ascii: "_") else { return false }
        return jobRunnerPrefixes.contains { function.hasPrefix($0) }
    }

    static func isConcurrencyModule(_ frame: Frame) -> Bool {
        guard let module = frame.module else { return false }
        let file = module.split(separator: "/").last.map(String.init) ?? module
        return concurrencyModules.contains { file == $0 || file.hasPrefix($0 + ".") }
    }

    /// The compiler's thunk between a task's closure and the runtime
    /// ("function signature specialization <...> of reabstraction thunk
    /// helper from @escaping @convention(thin) @async () -> () to ..."): the
    /// outermost async caller of a task, in the program's module but no
    /// code of the program.
    static func isTaskEntryThunk(_ frame: Frame) -> Bool {
        frame.function?.contains("reabstraction thunk helper from ") ?? false
    }
}
