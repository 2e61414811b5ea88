import Foundation

/// `--every D --keep K`: a snapshot every D seconds (the guides'
/// MemoryLeakDetector, without touching the target's code), and only the
/// last K periodic snapshots kept on disk. Snapshots asked for by hand and
/// the final one are never deleted.
public struct PeriodicSnapshots {
    let interval: Double?
    let keep: Int?
    private var lastTime = Date()
    /// Runs after each periodic snapshot is written (`--push`); it must
    /// return at once and do its work elsewhere.
    let afterWrite: (@Sendable (String) -> Void)?
    private var written: [String] = []

    public init(interval: Double?, keep: Int?, afterWrite: (@Sendable (String) -> Void)? = nil) {
        self.interval = interval
        self.keep = keep
        self.afterWrite = afterWrite
    }

    /// Seconds until the next periodic snapshot is due (nil: never), for the wait.
    func secondsUntilDue(now: Date = Date()) -> Double? {
        guard let interval else { return nil }
        return max(0, interval - now.timeIntervalSince(lastTime))
    }

    func isDue(now: Date = Date()) -> Bool {
        secondsUntilDue(now: now) == 0
    }

    /// Notes a periodic snapshot; returns the files to delete now.
    mutating func wrote(_ path: String, now: Date = Date()) -> [String] {
        lastTime = now
        written.append(path)
        guard let keep, written.count > keep else { return [] }
        let expired = Array(written.prefix(written.count - keep))
        written.removeFirst(expired.count)
        return expired
    }
}
