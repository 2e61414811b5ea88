/// One record of the agent's event stream, decoded.
public enum AgentEvent: Equatable, Sendable {
    /// A block came into existence at `address`, allocated from interned stack `stack`.
    case alloc(address: UInt64, size: UInt64, stack: UInt32)
    /// A block was released.
    case free(address: UInt64)
    /// `count` blocks of `size` bytes from `stack` were allocated and freed
    /// again before either reached the stream (the agent's pair window).
    case pairs(stack: UInt32, size: UInt64, count: UInt64)
    /// At this point the live totals reached the current ones plus these
    /// (blocks that `pairs` counts were live then).
    case peak(bytes: UInt64, blocks: UInt64)
    /// The live block at `address` was handed out again with no allocator
    /// call (a CPython free list) and now belongs to `stack`: to the live
    /// set, that block freed and allocated again at its size. A block not
    /// known is left alone.
    case retag(address: UInt64, stack: UInt32)
    /// A call stack the agent interned; later allocations refer to it by `id`.
    case stack(id: UInt32, ips: [UInt64])
    /// Everything that happened before the matching sync command is above this record.
    case sync(token: UInt64, lostEvents: UInt64)
    /// The agent stopped tracing; nothing follows.
    case status(AgentStatus)
    /// The process is exiting with everything sent; it waits for `CommandEncoder.release()`.
    case exiting(lostEvents: UInt64)
    /// What became of CPython's object allocators in the target.
    case python(PythonAllocators)
    /// CPython's cyclic garbage collector ran (or did not) on request `token`; every free it caused is above.
    case collected(token: UInt64, result: GarbageCollection)
}

/// The state of CPython's PyMem and PyObject allocator domains in the target
/// (`SL_REC_PYTHON`): wrapped by the agent, so every object is traced, or why not.
public struct PythonAllocators: Equatable, Sendable {
    public enum State: UInt32, Sendable {
        case notPython = 1, pending, wrapped, finalizing, notInitialized, freeThreaded, busy, collectorDisabled
    }

    /// nil for a state this build does not know.
    public var state: State?
    /// CPython 3.minor (0 when not CPython).
    public var minor: UInt32

    public init(state: State?, minor: UInt32) {
        self.state = state
        self.minor = minor
    }

    /// Why Python objects are not traced, as the end of a sentence; nil when they are (or there is no CPython).
    public var refusal: String? {
        switch state {
        case .wrapped?, .notPython?, .pending?: return nil
        case .finalizing?, .collectorDisabled?: return "the interpreter is shutting down"
        case .notInitialized?: return "the interpreter is not initialised yet"
        case .freeThreaded?: return "it is a free-threaded build, which has no GIL to swap allocators under"
        case .busy?: return "an earlier session's wait for the GIL is still pending"
        case nil: return "the agent reported a state this swiftleak does not know"
        }
    }
}

/// The answer to `CommandEncoder.collect` (`SL_REC_COLLECTED`).
public enum GarbageCollection: Equatable, Sendable {
    /// gc.collect() ran and found this many unreachable objects.
    case collected(Int64)
    /// It did not run, for this reason.
    case refused(PythonAllocators.State?)
}

/// Why the agent stopped tracing (`SL_REC_STATUS`).
public struct AgentStatus: Equatable, Sendable {
    public var code: UInt32
    public var detail: UInt32
    public var lostEvents: UInt64

    public init(code: UInt32, detail: UInt32, lostEvents: UInt64) {
        self.code = code
        self.detail = detail
        self.lostEvents = lostEvents
    }

    /// True when the agent stopped because it was asked to.
    public var isRequestedStop: Bool { code == 1 }

    /// One line for a person.
    public var explanation: String {
        switch code {
        case 1: return "the agent stopped tracing on request"
        case 2: return "the agent ran out of room for its stack tables and stopped tracing"
        case 3: return "the agent's event ring stalled (a thread left an allocation hook mid-way) and tracing was turned off"
        case 4: return "the agent could not load libunwind.so.8 in the target (install libunwind8) and did not trace"
        case 5: return "the agent could not patch the target's GOT (errno \(detail)) and did not trace"
        default: return "the agent stopped tracing (status \(code), detail \(detail))"
        }
    }
}

/// The first bytes of a stream: who is talking.
public struct AgentHello: Equatable, Sendable {
    public enum Mode: UInt32, Sendable {
        case preload = 1
        case attach = 2
    }

    public var version: UInt32
    public var pid: Int32
    public var mode: Mode
    public var framesMax: UInt32
    /// CLOCK_REALTIME when tracing started, nanoseconds.
    public var startNanoseconds: UInt64
    /// 0: every allocation is in the stream; else the mean bytes between
    /// sampled allocations (`--sample-bytes`), and only sampled blocks are.
    public var sampleBytes: UInt32 = 0
}
