import Foundation
import LeakCollector
import LeakModel
import LeakReport

/// Follows a run for its gates: when the warm-up ends (the baseline), when
/// the peak first crosses --max-peak (a snapshot of that moment, to show
/// whose memory it was), and the verdict at the end.
struct GateWatch {
    let gate: MemoryGate?
    let warmup: GateArguments.Warmup?
    var baseline: String?
    private var peakSnapshot: String?
    private var peakSeen = false
    private let start = Date()

    init(gate: MemoryGate?, warmup: GateArguments.Warmup?) {
        self.gate = gate
        self.warmup = warmup
    }

    var wantsSignalBaseline: Bool { warmup == .firstSignal && baseline == nil }

    func warmupIsDue() -> Bool {
        guard baseline == nil, case let .after(seconds)? = warmup else { return false }
        return Date().timeIntervalSince(start) >= seconds
    }

    mutating func watchPeak(_ session: TracingSession, snapshot: () -> String?) {
        guard !peakSeen, let limit = gate?.maxPeakBytes, session.counters.peakBytes > limit else { return }
        peakSeen = true
        peakSnapshot = snapshot()
    }

    /// Prints the verdict and the sites over the limits; returns true when every limit held.
    func report(finalPath: String) -> Bool {
        guard let gate, let final = try? SnapshotLoader.load(finalPath) else { return false }
        let base = baseline.flatMap { try? SnapshotLoader.load($0) }
        if gate.maxGrowthBytes != nil && base == nil {
            Console.warning("the warm-up never ended (no baseline snapshot); growth is measured from the start")
        }
        let result = gate.evaluate(final: final, baseline: base)
        guard !result.passed else {
            Console.note("memory gates passed")
            return true
        }
        for violation in result.violations { Console.note("gate failed: \(violation)") }
        if let limit = gate.maxPeakBytes, final.metadata.peakBytes > limit {
            let shown = peakSnapshot.flatMap { try? SnapshotLoader.load($0) } ?? final
            let stats = Statistics.compute(shown, groupBy: .traceback, options: AnalysisOptions())
            Console.error(TextReport.top(snapshot: shown, stats: stats, groupBy: .traceback, limit: 5, useColor: false))
        }
        if gate.maxGrowthBytes != nil, let base {
            let diffs = Comparison.compute(new: final, old: base, groupBy: .traceback, options: AnalysisOptions())
            Console.error(TextReport.diff(old: base, new: final, diffs: diffs, groupBy: .traceback, limit: 5, useColor: false))
        }
        return false
    }
}
