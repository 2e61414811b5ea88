/// One symbolized stack frame, resolved while the target was alive so a
/// snapshot can be read after the process is gone.
public struct Frame: Hashable, Sendable {
    /// Function name as the symbol table or debug info gives it (may be mangled).
    public var function: String?
    /// Source file from the line table, if the module has debug info.
    public var file: String?
    /// Source line, 0 when unknown.
    public var line: UInt32
    /// Path of the module (executable or shared library) holding the address.
    public var module: String?
    /// Runtime address of the instruction (the return address for outer frames).
    public var address: UInt64
    /// Code the compiler inlined into the next frame of the stack: one
    /// return address gives one frame per inline level, innermost first, all
    /// with the same address; only the last of them is a real call.
    public var isInlined: Bool
    /// An awaiting caller of a Swift async function: read from the running
    /// task's chain of async contexts, not from the thread's stack; its
    /// address is the resume function's entry, not a return address.
    public var isAsync: Bool

    public init(function: String? = nil, file: String? = nil, line: UInt32 = 0, module: String? = nil, address: UInt64,
                isInlined: Bool = false, isAsync: Bool = false) {
        self.function = function
        self.file = file
        self.line = line
        self.module = module
        self.address = address
        self.isInlined = isInlined
        self.isAsync = isAsync
    }
}
