import Foundation
import LeakCollector
import LeakModel

/// When the warm-up of a gated run ends: its snapshot is the baseline that
/// growth is measured from.
public enum Warmup: Equatable, Sendable {
    case after(seconds: Double)
    case firstSignal
}

/// Follows a run for its gates: when the warm-up ends (the baseline), when
/// the peak first crosses the peak limit (a snapshot of that moment, to show
/// whose memory it was), and the verdict at the end.
struct GateWatch {
    let gate: MemoryGate?
    let warmup: Warmup?
    var baseline: String?
    private var peakSnapshot: String?
    private var peakSeen = false
    private let start = Date()

    init(gate: MemoryGate?, warmup: Warmup?) {
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

    /// The verdict on the final snapshot at `finalPath`; nil without gates.
    func verdict(finalPath: String) -> GateVerdict? {
        guard let gate else { return nil }
        guard let final = try? SnapshotLoader.load(finalPath) else {
            return GateVerdict(gate: gate, result: nil, final: nil, baseline: nil, peak: nil)
        }
        let base = baseline.flatMap { try? SnapshotLoader.load($0) }
        let peak = peakSnapshot.flatMap { try? SnapshotLoader.load($0) }
        return GateVerdict(gate: gate, result: gate.evaluate(final: final, baseline: base), final: final, baseline: base, peak: peak)
    }
}

/// The gates' verdict on a run, with the snapshots that explain it.
public struct GateVerdict {
    public let gate: MemoryGate
    /// Nil when the final snapshot could not be read back: the run fails its gates.
    public let result: GateResult?
    public let final: Snapshot?
    /// The warm-up snapshot; nil when the warm-up never ended.
    public let baseline: Snapshot?
    /// The snapshot taken when the peak first crossed its limit.
    public let peak: Snapshot?

    public var passed: Bool { result?.passed ?? false }
}
