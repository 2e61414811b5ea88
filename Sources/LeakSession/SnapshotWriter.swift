import LeakCollector
import LeakScan

/// The one way a session writes a snapshot: write it, say where, then warn
/// about what makes it doubtful (lost events, an agent that gave up), so
/// `run` and `attach` report the same things.
struct SnapshotWriter: Sendable {
    let session: TracingSession
    let report: SessionReporter

    /// Writes a snapshot named `label` in messages ("snapshot", "final
    /// snapshot", ...); returns its path, or nil after a warning.
    @discardableResult
    func write(final: Bool, label: String) -> String? {
        let path: String
        do {
            path = try session.takeSnapshot(final: final)
        } catch {
            report(.warning("could not write the \(label): \(error)"))
            return nil
        }
        report(.note("\(label) written: \(path)"))
        for warning in Self.warnings(problem: session.problem, lostEvents: session.counters.lostEvents) {
            report(.warning(warning))
        }
        return path
    }

    /// Scans `pid` for unreachable blocks and writes a snapshot carrying the
    /// result; the answer to a `scan` request.
    func writeScan(pid: Int32) -> ControlAnswer {
        let path: String
        var phases = ""
        do {
            path = try session.takeSnapshot(final: false, scan: Self.scan(pid: pid) { phases = $0 })
        } catch {
            report(.warning("could not scan pid \(pid): \(error)"))
            return .error("could not scan pid \(pid): \(error)")
        }
        report(.note("reachability scan (\(phases)) written: \(path)"))
        return .ok(path)
    }

    /// A reachability scan of `pid` for `TracingSession`; `phases` hears where its time went.
    static func scan(pid: Int32, phases: @escaping (String) -> Void = { _ in }) -> TracingSession.Scan {
        { knownBlocks in
            let scan = try ProcessScan.run(pid: pid, knownBlocks: knownBlocks)
            phases(scan.phases.map { "\($0.name) \(Int(($0.seconds * 1000).rounded())) ms" }.joined(separator: ", "))
            var summary = scan.summary()
            UnreachableTypes.name(&summary, pid: pid)
            return summary
        }
    }

    /// Writes a snapshot with its live blocks counted by type (`swiftleak
    /// types`); the answer carries its path.
    func writeWithTypes() -> ControlAnswer {
        let written: (path: String, summary: String)
        do {
            written = try session.takeTypesSnapshot()
        } catch {
            report(.warning("could not write the types snapshot: \(error)"))
            return .error("the types snapshot could not be written: \(error)")
        }
        report(.note("types snapshot written: \(written.path)"))
        if !written.summary.isEmpty { report(.note(written.summary)) }
        for warning in Self.warnings(problem: session.problem, lostEvents: session.counters.lostEvents) {
            report(.warning(warning))
        }
        return .ok(written.path)
    }

    /// What a snapshot taken in this state cannot be trusted for.
    static func warnings(problem: String?, lostEvents: UInt64) -> [String] {
        var warnings: [String] = []
        if let problem { warnings.append(problem) }
        if lostEvents > 0 { warnings.append("\(lostEvents) events were lost; sizes and counts are approximate") }
        return warnings
    }
}
