import LeakCollector

/// What a run's final snapshot cannot show, said in one line instead of
/// leaving an empty or stale snapshot to speak for itself.
enum TracingEndNotes {
    /// A command line for a message: short enough for one line.
    static func text(_ command: [String]) -> String {
        let joined = command.joined(separator: " ")
        return joined.count > 120 ? String(joined.prefix(117)) + "..." : joined
    }

    /// The warning for a session whose final snapshot was just written, if
    /// any. `killedBySignal`: how the process ended, when that is known
    /// (only the launched program is ours to wait for).
    static func warning(for session: TracingSession, killedBySignal: Bool?) -> String? {
        let pid = session.pid
        let command = text(session.commandLine)
        let lost = "pid \(pid) closed the agent's stream without exiting: it exec'd a program that does not load the agent "
            + "(statically linked, setuid, or LD_PRELOAD cleared) or closed the socket; the final snapshot shows \(command) before that"
        if session.streamEnding == .silentWhileRunning { return lost }
        // An exit through exit() or _exit says so first; a silent end of a
        // process already gone is an exec followed by a quick exit (which
        // the reader may notice only after it), or a signal.
        if session.streamEnding == .silent && killedBySignal == false { return lost }
        if session.counters.allocations == 0 {
            return "the final snapshot of pid \(pid) holds no allocation: the agent saw none in \(command)"
        }
        return nil
    }
}
