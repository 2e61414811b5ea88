import LeakModel
import LeakReport
import LeakSession

/// Prints the gates' verdict on a run and, when a limit broke, the sites
/// over it: the biggest at the peak, the biggest growers since the warm-up.
enum GateReport {
    static func show(_ verdict: GateVerdict) {
        guard let result = verdict.result, let final = verdict.final else { return }
        if verdict.gate.maxGrowthBytes != nil && verdict.baseline == nil {
            Console.warning("the warm-up never ended (no baseline snapshot); growth is measured from the start")
        }
        // Gates on a sampled run judge estimates: every verdict line says so.
        let estimated = final.isEstimated ? " (estimated: sampled run)" : ""
        guard !result.passed else {
            Console.note("memory gates passed" + estimated)
            return
        }
        for violation in result.violations { Console.note("gate failed: \(GateArguments.describe(violation))" + estimated) }
        if let limit = verdict.gate.maxPeakBytes, final.metadata.peakBytes > limit {
            let shown = verdict.peak ?? final
            let stats = Statistics.compute(shown, groupBy: .traceback, options: AnalysisOptions())
            Console.error(TextReport.top(snapshot: shown, stats: stats, groupBy: .traceback, limit: 5, useColor: false))
        }
        if verdict.gate.maxGrowthBytes != nil, let base = verdict.baseline {
            let diffs = Comparison.compute(new: final, old: base, groupBy: .traceback, options: AnalysisOptions())
            Console.error(TextReport.diff(old: base, new: final, diffs: diffs, groupBy: .traceback, limit: 5, useColor: false))
        }
    }
}
