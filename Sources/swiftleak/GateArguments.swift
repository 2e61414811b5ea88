import ArgumentParser
import LeakModel
import LeakReport
import LeakSession

/// `run`'s CI gates: a memory ceiling and a growth limit after a warm-up,
/// as exit statuses (the guides' pytest memory ceiling).
struct GateArguments: ParsableArguments {
    /// The exit status of a run whose target succeeded but broke a limit.
    static let exitStatus: Int32 = 97

    @Option(name: .customLong("max-peak"), help: ArgumentHelp("Fail (exit 97) if peak live memory exceeds SIZE (e.g. 50MiB).", valueName: "size"),
            transform: SizeArgument.parse)
    var maxPeak: UInt64?

    @Option(name: .customLong("max-growth"), help: ArgumentHelp("Fail (exit 97) if live memory grows more than SIZE from the warm-up snapshot to the end.", valueName: "size"),
            transform: SizeArgument.parse)
    var maxGrowth: UInt64?

    @Option(help: ArgumentHelp("When the warm-up ends: a DURATION after start (e.g. 10s), or 'signal' (the first SIGUSR1 snapshot).", valueName: "when"),
            transform: GateArguments.warmup)
    var warmup: Warmup?

    func validate() throws {
        if maxGrowth != nil && warmup == nil {
            throw ValidationError("--max-growth needs a baseline: add --warmup DURATION or --warmup signal")
        }
    }

    var gate: MemoryGate? {
        guard maxPeak != nil || maxGrowth != nil else { return nil }
        return MemoryGate(maxPeakBytes: maxPeak, maxGrowthBytes: maxGrowth)
    }

    @Sendable static func warmup(_ text: String) throws -> Warmup {
        if text == "signal" { return .firstSignal }
        do {
            return .after(seconds: try DurationArgument.parse(text))
        } catch {
            throw ValidationError("\(error); or use --warmup signal")
        }
    }

    /// A violation in the words of the flags that set the limits.
    static func describe(_ violation: GateViolation) -> String {
        switch violation {
        case let .peak(bytes, limit):
            return "peak \(SizeFormat.human(bytes)) exceeds --max-peak \(SizeFormat.human(limit))"
        case let .growth(bytes, sequence, limit):
            let since = sequence.map { "since snapshot \($0)" } ?? "since tracing started"
            return "growth \(SizeFormat.human(bytes)) \(since) exceeds --max-growth \(SizeFormat.human(limit))"
        }
    }
}
