/// Why a `Symbolizer` could not (re)load the module list of its target.
///
/// Symbolizing single addresses never throws: unknown addresses yield a
/// frame with the address only. Only reading the process's mappings can fail,
/// typically because the process has exited or we lack ptrace access.
public enum SymbolizerError: Error, CustomStringConvertible, Equatable {
    /// /proc/PID/maps could not be read (errno text included).
    case cannotReadMaps(pid: Int32, reason: String)
    /// libdwfl refused to report the process's modules.
    case dwflFailure(pid: Int32, reason: String)

    public var description: String {
        switch self {
        case let .cannotReadMaps(pid, reason):
            return "cannot read /proc/\(pid)/maps: \(reason) (has the process exited?)"
        case let .dwflFailure(pid, reason):
            return "cannot load the modules of process \(pid): \(reason)"
        }
    }
}
