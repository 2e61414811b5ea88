import LeakCollector
import LeakModel
import LeakReport

/// `run --leaks-at-exit`: the report of the scan made as the program exited.
enum LeaksAtExit {
    /// swiftleak's exit status when a program that exited 0 left unreachable
    /// memory (LeakSanitizer's default exit code, for CI scripts that know it).
    static let exitStatus: Int32 = 23

    /// Prints the scan's report on stderr (stdout is the program's); returns
    /// whether unreachable memory was found.
    static func show(_ scan: Result<String, Error>, groupBy: GroupBy) throws -> Bool {
        let path: String
        switch scan {
        case let .success(written): path = written
        case let .failure(error):
            Console.warning("--leaks-at-exit: \(error)")
            return false
        }
        let snapshot = try SnapshotLoader.load(path)
        let stats = UnreachableMemory.statistics(snapshot, groupBy: groupBy)
        let cycles = UnreachableMemory.cycles(snapshot)
        Console.error(TextReport.leaks(snapshot: snapshot, stats: stats, cycles: cycles, groupBy: groupBy, limit: 10,
                                       useColor: false))
        return !(snapshot.reachability?.unreachable.isEmpty ?? true)
    }
}
