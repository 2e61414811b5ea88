/// Which thread /proc should be asked about a process's memory and files.
///
/// /proc/PID shows the thread-group leader, the main thread. When that
/// thread called pthread_exit while others run on, the kernel keeps it as a
/// zombie: its status says Z and its maps, exe, root, map_files and mem read
/// empty or fail, though the process itself runs. A live thread's
/// /proc/PID/task/TID shows the same memory map and files.
extension ProcDirectory {
    /// This process's directory while its main thread runs, otherwise the
    /// task directory of the first thread that still does; nil when every
    /// thread has exited (the process is a zombie) or the process is gone.
    public func liveThread() -> ProcDirectory? {
        let process = ProcDirectory(pid: pid)
        if let stat = process.stat(), !stat.hasExited { return process }
        for tid in process.taskIDs() where tid != pid {
            let thread = process.task(tid)
            if let stat = thread.stat(), !stat.hasExited { return thread }
        }
        return nil
    }

    /// True when no thread of the process runs any more (a zombie, or gone).
    /// The main thread's state alone would call a process whose main thread
    /// called pthread_exit a zombie.
    public var hasExited: Bool { liveThread() == nil }
}
