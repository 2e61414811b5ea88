import LeakProc

/// What /proc tells about a process, read without stopping it.
public enum ProcessFacts {
    /// The command line, or [] when the process is gone. Read from a live
    /// thread: the main thread's is empty once it called pthread_exit.
    public static func commandLine(of pid: Int32) -> [String] {
        (ProcDirectory(pid: pid).liveThread() ?? ProcDirectory(pid: pid)).commandLine()
    }

    /// The short name (comm), or "?" when the process is gone.
    public static func name(of pid: Int32) -> String {
        ProcDirectory(pid: pid).name() ?? "?"
    }

    /// True while `pid` exists and is not a zombie (some thread of it runs).
    public static func isRunning(_ pid: Int32) -> Bool {
        !ProcDirectory(pid: pid).hasExited
    }
}
