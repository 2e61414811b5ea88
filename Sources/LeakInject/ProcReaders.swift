import LeakProc

extension ProcStatus {
    /// The status of a process that is about to be injected; the error
    /// says which file could not be read.
    static func read(pid: Int32) -> Result<ProcStatus, InjectError> {
        let directory = ProcDirectory(pid: pid)
        return directory.status().mapError { .procUnreadable(path: directory.entry("status"), errno: $0.code) }
    }

    /// One thread's status, or nil when the thread is gone.
    static func read(pid: Int32, tid: Int32) -> ProcStatus? {
        try? ProcDirectory(pid: pid).task(tid).status().get()
    }
}
