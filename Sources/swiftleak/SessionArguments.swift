import ArgumentParser
import LeakPush
import LeakSession

/// Options shared by `run` and `attach`: where snapshots go, stack depth,
/// sampling, and periodic snapshots.
struct SessionArguments: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Directory for snapshots (default: ./swiftleak-<pid>).", valueName: "dir"))
    var output: String?

    @Option(help: ArgumentHelp("Call-stack depth recorded per allocation (1-256); inline levels add frames on top.", valueName: "n"))
    var frames: UInt32 = 64

    @Option(help: ArgumentHelp("Sample allocations, one every SIZE bytes on average (e.g. 512KiB), instead of recording every one: far cheaper, and every figure becomes an estimate.", valueName: "size"),
            transform: SizeArgument.parse)
    var sampleBytes: UInt64?

    @Option(help: ArgumentHelp("Also write a snapshot every DURATION (e.g. 30s, 5m, 1h).", valueName: "duration"),
            transform: DurationArgument.parse)
    var every: Double?

    @Option(help: ArgumentHelp("With --every: keep only the last K periodic snapshots on disk.", valueName: "k"))
    var keep: Int?

    @Option(help: ArgumentHelp("With --every: push each periodic snapshot to this Pyroscope server (pprof).", valueName: "url"))
    var push: String?

    @Option(help: ArgumentHelp("With --push: the application name (default: the traced program's name).", valueName: "name"))
    var pushService: String?

    @Option(help: ArgumentHelp("With --push: a label for every profile; repeatable.", valueName: "key=value"))
    var pushLabel: [String] = []

    func validate() throws {
        guard (1...256).contains(frames) else { throw ValidationError("--frames must be between 1 and 256") }
        if let sampleBytes, !(1...UInt64(UInt32.max)).contains(sampleBytes) {
            throw ValidationError("--sample-bytes must be at least 1 byte and below 4GiB, e.g. 512KiB")
        }
        if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
        if keep != nil && every == nil { throw ValidationError("--keep applies to periodic snapshots: add --every DURATION") }
        if let every, every < 0.1 { throw ValidationError("--every must be at least 100ms") }
        if push != nil && every == nil { throw ValidationError("--push sends periodic snapshots: add --every DURATION") }
        if push == nil && (pushService != nil || !pushLabel.isEmpty) {
            throw ValidationError("--push-service and --push-label go with --push URL")
        }
        if let push {
            do {
                _ = try PyroscopeIngest(base: push, service: pushService ?? "placeholder", labels: pushLabel)
            } catch {
                throw ValidationError("--push: \(error)")
            }
        }
    }

    /// Periodic snapshots, pushed as they are written when --push is set.
    var periodic: PeriodicSnapshots {
        get throws {
            guard let push else { return PeriodicSnapshots(interval: every, keep: keep) }
            let pusher = try PeriodicPush(target: push, service: pushService, labels: pushLabel) { Console.warning($0) }
            return PeriodicSnapshots(interval: every, keep: keep, afterWrite: pusher.snapshotWritten)
        }
    }
}
