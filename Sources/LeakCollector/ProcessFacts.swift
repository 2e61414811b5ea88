import LeakProc

/// What /proc tells about a process, read without stopping it.
public enum ProcessFacts {
    /// The command line, or [] when the process is gone.
    public static func commandLine(of pid: Int32) -> [String] {
        ProcDirectory(pid: pid).commandLine()
    }

    /// The short name (comm), or "?" when the process is gone.
    public static func name(of pid: Int32) -> String {
        ProcDirectory(pid: pid).name() ?? "?"
    }

    /// True while `pid` exists and is not a zombie.
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = ProcDirectory(pid: pid).stat() else { return false }
        return !stat.hasExited
    }
}
