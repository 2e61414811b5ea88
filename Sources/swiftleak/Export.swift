import ArgumentParser
import Glibc
import LeakCollector
import LeakExport
import LeakModel
import LeakProc
import LeakReport

/// `swiftleak export SNAP [OLD] --format pprof|collapsed|speedscope -o FILE`.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a snapshot, or its growth since OLD, for pprof, flame graphs or speedscope.",
        discussion: """
        pprof: a gzipped profile.proto with alloc_objects, alloc_space,
        inuse_objects and inuse_space (default inuse_space), as Go's heap
        profiles have them. With OLD, the profile is the growth since OLD
        (what `swiftleak diff OLD SNAP` shows).
        collapsed: one `outer;...;inner VALUE` line per stack (with OLD:
        `stack OLD_VALUE NEW_VALUE`, flamegraph.pl's differential input).
        speedscope: speedscope's JSON file format (with OLD: a "grew" and a
        "shrank" profile; speedscope takes no negative weights).

        Examples:
          swiftleak export snaps/<b> --format pprof -o leak.pb.gz
          go tool pprof -top -sample_index=inuse_space leak.pb.gz
          swiftleak export snaps/<b> snaps/<a> --format speedscope -o growth.json
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case pprof, collapsed, speedscope
    }

    @Argument(help: ArgumentHelp("The snapshot to export.", valueName: "snapshot"))
    var snapshot: String

    @Argument(help: ArgumentHelp("An earlier snapshot: export the growth since it.", valueName: "old"))
    var old: String?

    @Option(help: ArgumentHelp("pprof, collapsed or speedscope.", valueName: "format"))
    var format: Format

    @Option(name: .shortAndLong, help: ArgumentHelp("The file to write ('-': standard output).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("collapsed and speedscope: the value drawn, one of \(SampleKind.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "kind"))
    var sample: SampleKind = .inuseSpace

    @Flag(help: "Keep the allocator frames (malloc & co) at the top of each stack.")
    var raw = false

    func run() throws {
        let after = try SnapshotLoader.load(snapshot)
        let before = try old.map(SnapshotLoader.load)
        let bytes: [UInt8]
        switch format {
        case .pprof:
            bytes = try Gzip.compress(PprofProfile.encode(after, old: before, raw: raw))
        case .collapsed:
            bytes = CollapsedStacks.encode(after, old: before, kind: sample, raw: raw)
            // The format has no place for it: say it beside the file.
            EstimatedFigures.lines([after] + (before.map { [$0] } ?? [])).forEach(Console.note)
        case .speedscope:
            let name = after.programName + (old == nil ? "" : " growth")
            bytes = Array(SpeedscopeProfile.encode(after, old: before, kind: sample, raw: raw, name: name).utf8)
        }
        try Self.write(bytes, to: output)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        if path == "-" {
            do { try writeAll(fd: 1, bytes) } catch { throw Failure("cannot write to standard output: \(error)") }
            return
        }
        let fd = retryingInterrupted { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw Failure("cannot create \(path): \(Errno.current); check the directory exists and is writable") }
        defer { close(fd) }
        do { try writeAll(fd: fd, bytes) } catch { throw Failure("cannot write \(path): \(error)") }
    }
}

extension SampleKind: ExpressibleByArgument {}
