import ArgumentParser
import LeakModel

/// `run`'s CI gates: a memory ceiling and a growth limit after a warm-up,
/// as exit statuses (the guides' pytest memory ceiling).
struct GateArguments: ParsableArguments {
    /// The exit status of a run whose target succeeded but broke a limit.
    static let exitStatus: Int32 = 97

    @Option(name: .customLong("max-peak"), help: ArgumentHelp("Fail (exit 97) if peak live memory exceeds SIZE (e.g. 50MiB).", valueName: "size"))
    var maxPeak: String?

    @Option(name: .customLong("max-growth"), help: ArgumentHelp("Fail (exit 97) if live memory grows more than SIZE from the warm-up snapshot to the end.", valueName: "size"))
    var maxGrowth: String?

    @Option(help: ArgumentHelp("When the warm-up ends: a DURATION after start (e.g. 10s), or 'signal' (the first SIGUSR1 snapshot).", valueName: "when"))
    var warmup: String?

    enum Warmup: Equatable {
        case after(seconds: Double)
        case firstSignal
    }

    func validate() throws {
        _ = try gate()
        _ = try warmupPoint()
        if maxGrowth != nil && warmup == nil {
            throw ValidationError("--max-growth needs a baseline: add --warmup DURATION or --warmup signal")
        }
    }

    func gate() throws -> MemoryGate? {
        guard maxPeak != nil || maxGrowth != nil else { return nil }
        do {
            return MemoryGate(maxPeakBytes: try maxPeak.map(ByteSize.parse), maxGrowthBytes: try maxGrowth.map(ByteSize.parse))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func warmupPoint() throws -> Warmup? {
        guard let warmup else { return nil }
        if warmup == "signal" { return .firstSignal }
        do {
            return .after(seconds: try DurationText.parse(warmup))
        } catch {
            throw ValidationError("--warmup: \(error); or use --warmup signal")
        }
    }
}
