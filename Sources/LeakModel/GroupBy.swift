/// How `Statistics` and `Comparison` group live memory, named after
/// tracemalloc's `key_type` values.
public enum GroupBy: String, CaseIterable, Sendable {
    /// Source file and line of frame 0.
    case lineno
    /// Function of frame 0.
    case function
    /// Source file of frame 0.
    case filename
    /// Module (executable or library) of frame 0.
    case module
    /// The whole folded stack.
    case traceback
    /// The type memory names for each block (snapshots of `swiftleak types`).
    case type
}
