import ArgumentParser
import LeakCollector
import LeakExport
import LeakPush

/// `swiftleak push SNAP... --to URL --service NAME [--label k=v]...`.
struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send snapshots to Grafana Pyroscope as pprof profiles.",
        discussion: """
        Each snapshot is one POST {URL}/ingest?name=NAME{labels}&from=&until=&format=pprof
        with the gzipped profile (alloc_objects, alloc_space, inuse_objects,
        inuse_space) as the body. A directory stands for its snapshots, in order.

        Example:
          swiftleak push snaps/ --to http://pyroscope:4040 --service checkout --label region=eu
        """
    )

    @Argument(help: ArgumentHelp("Snapshot files or directories of them.", valueName: "snapshot"))
    var snapshots: [String]

    @Option(help: ArgumentHelp("The Pyroscope server, e.g. http://pyroscope:4040.", valueName: "url"))
    var to: String

    @Option(help: ArgumentHelp("The application name in Pyroscope (default: the traced program's name).", valueName: "name"))
    var service: String?

    @Option(help: ArgumentHelp("A label for every profile; repeatable.", valueName: "key=value"))
    var label: [String] = []

    @Option(help: ArgumentHelp("Give up on a push after DURATION.", valueName: "duration"), transform: DurationArgument.parse)
    var timeout: Double = 10

    func validate() throws {
        if snapshots.isEmpty { throw ValidationError("name at least one snapshot to push") }
        if timeout <= 0 { throw ValidationError("--timeout must be above 0") }
    }

    func run() throws {
        for path in try SnapshotLoader.expand(snapshots) {
            let snapshot = try SnapshotLoader.load(path)
            let ingest: PyroscopeIngest
            do {
                ingest = try PyroscopeIngest(base: to, service: service ?? snapshot.programName, labels: label)
            } catch {
                throw Failure("\(error)")
            }
            do {
                let sent = try ProfilePusher(ingest: ingest, timeoutSeconds: timeout).push(snapshot)
                Console.note("pushed \(path) as \(ingest.service) (\(sent) bytes)")
            } catch {
                throw Failure("\(error)")
            }
        }
    }
}
