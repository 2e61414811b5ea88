import LeakModel

/// A stack captured in Swift async code, as the agent and the symbolizer
/// deliver it (innermost first): the allocator, the running partial
/// function (makeRecord), its three awaiting callers (async), the runtime's
/// task completion and the compiler's entry thunk (async too), then the
/// executor: the job runners, libdispatch, the thread's start.
public enum AsyncStackFixture {
    static let app = "/srv/app"
    static let concurrency = "/usr/lib/swift/linux/libswift_Concurrency.so"
    static let dispatch = "/usr/lib/swift/linux/libdispatch.so"

    public static let slowAlloc = Frame(function: "swift_slowAlloc", module: "/usr/lib/swift/linux/libswiftCore.so", address: 0x7f00_0000_1000)
    public static let makeRecord = Frame(function: "app.makeRecord(Swift.Int) async -> app.Record", file: "/src/app.swift", line: 15,
                                         module: app, address: 0x5555_0000_1dde)
    public static let callers = [
        Frame(function: "app.handleRequest(Swift.Int) async -> ()", file: "/src/app.swift", line: 20, module: app,
              address: 0x5555_0000_1e60, isAsync: true),
        Frame(function: "app.serve(Swift.Int) async -> ()", file: "/src/app.swift", line: 27, module: app,
              address: 0x5555_0000_1b10, isAsync: true),
        Frame(function: "main", file: "/src/app.swift", line: 31, module: app, address: 0x5555_0000_18b0, isAsync: true),
    ]
    public static let taskEntry = [
        Frame(function: "function signature specialization <Arg[1] = [Constant Propagated Function : async_Main]> of reabstraction thunk helper from @escaping @convention(thin) @async () -> () to @escaping @callee_guaranteed @async () -> (@out (), @error @owned Swift.Error)",
              module: app, address: 0x5555_0000_1a60, isAsync: true),
        Frame(function: "completeTaskAndRelease(swift::AsyncContext*, swift::SwiftError*)", module: concurrency,
              address: 0x7f00_0002_e360, isAsync: true),
    ]
    public static let executor = [
        Frame(function: "swift::runJobInEstablishedExecutorContext(swift::Job*)", module: concurrency, address: 0x7f00_0002_9e60),
        Frame(function: "swift_job_run", module: concurrency, address: 0x7f00_0002_ab15),
        Frame(function: "_dispatch_continuation_pop", module: dispatch, address: 0x7f00_0003_1088),
        Frame(function: "_dispatch_worker_thread", module: dispatch, address: 0x7f00_0003_a195),
        Frame(function: "start_thread", file: "./nptl/pthread_create.c", line: 442, module: "/lib/x86_64-linux-gnu/libc.so.6",
              address: 0x7f00_0004_f1f5),
    ]

    public static var frames: [Frame] { [slowAlloc, makeRecord] + callers + taskEntry + executor }
}
