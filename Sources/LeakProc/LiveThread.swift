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
    /// thread has exited or is exiting (the process is a zombie, or about
    /// to be) or the process is gone. A thread on its way out counts as
    /// exited: its maps may already read empty.
    public func liveThread() -> ProcDirectory? {
        let process = ProcDirectory(pid: pid)
        if let stat = process.stat(), !stat.isExitingOrExited { return process }
        for tid in process.taskIDs() where tid != pid {
            let thread = process.task(tid)
            if let stat = thread.stat(), !stat.isExitingOrExited { return thread }
        }
        return nil
    }

    /// True when no thread of the process runs any more (a zombie, gone, or
    /// every thread on its way out). The main thread's state alone would
    /// call a process whose main thread called pthread_exit a zombie.
    public var hasExited: Bool { liveThread() == nil }
}
