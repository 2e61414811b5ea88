import Foundation
import XCTest

/// `--output` in a directory another user can write (a shared /tmp): that
/// user (uid 65534, through setpriv: really another user) plants files,
/// FIFOs and symlinks under every name a snapshot could get in the next
/// seconds. Snapshots must stay ours, mode 0600, and nothing may hang.
final class OutputDirectoryTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        XCTAssertEqual(geteuid(), 0, "these tests plant files as uid 65534 with setpriv, which needs root")
        if geteuid() != 0 { throw CancellationError() }
    }

    private static let otherUser: UInt32 = 65534
    /// Long enough for an attach, a snapshot and a detach after the planting.
    private static let window = 15.0

    /// A root-owned directory everyone may write, like /tmp (mode 1777).
    private func sharedDirectory() throws -> String {
        let path = try TestEnvironment.temporaryDirectory() + "/shared"
        XCTAssertEqual(mkdir(path, 0o700), 0)
        XCTAssertEqual(chmod(path, 0o1777), 0)
        return path
    }

    /// Every snapshot name `sequence` could get within the window from now,
    /// one per millisecond (`TimeFormat.compact` names).
    private func upcomingNames(sequence: String) -> [String] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        let first = Int64(Date().timeIntervalSince1970 * 1000) - 50
        return (first..<first + Int64(Self.window * 1000)).map { ms in
            // Mid-millisecond, so rounding or truncating give the same text.
            "\(formatter.string(from: Date(timeIntervalSince1970: (Double(ms) + 0.4) / 1000)))-\(sequence).swleak"
        }
    }

    /// Runs `script` with sh as uid 65534 in `directory`; `list` (one name a
    /// line) is its standard input.
    private func asOtherUser(in directory: String, _ script: String, list: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let listPath = try TestEnvironment.temporaryDirectory() + "/names"
        try (list.joined(separator: "\n") + "\n").write(toFile: listPath, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(listPath, 0o644), 0)
        let result = try runToCompletion("/usr/bin/setpriv", [
            "--reuid=\(Self.otherUser)", "--regid=\(Self.otherUser)", "--clear-groups",
            "/bin/sh", "-c", "cd '\(directory)' && umask 000 && \(script) < '\(listPath)'",
        ], timeout: 60, file: file, line: line)
        XCTAssertEqual(result.status, 0, "planting as uid \(Self.otherUser) failed: \(result.stderr)", file: file, line: line)
    }

    /// lstat of `path`: the entry itself, never what a symlink points to.
    private func entry(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// A snapshot written under one of the planted names, as a regular file
    /// of ours with mode 0600.
    private func assertOursAndPrivate(_ path: String, planted: Set<String>, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(planted.contains((path as NSString).lastPathComponent),
                      "\(path) was not among the planted names: the test missed its window", file: file, line: line)
        let info = try XCTUnwrap(entry(path), "no \(path)", file: file, line: line)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFREG, "\(path) is not a regular file", file: file, line: line)
        XCTAssertEqual(info.st_uid, 0, "\(path) is owned by uid \(info.st_uid)", file: file, line: line)
        XCTAssertEqual(info.st_mode & 0o7777, 0o600, "\(path) has mode \(String(info.st_mode & 0o7777, radix: 8))", file: file, line: line)
        let top = try runToCompletion(TestEnvironment.binary, ["top", path], timeout: 30)
        XCTAssertEqual(top.status, 0, "\(path) is not a readable snapshot: \(top.stderr)", file: file, line: line)
    }

    /// `swiftleak snapshot|detach PID` within 20 s (a FIFO opened for
    /// writing would block forever); returns the printed path.
    private func request(_ command: String, _ pid: Int32, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runToCompletion(TestEnvironment.binary, [command, "\(pid)"], timeout: 20, file: file, line: line)
        XCTAssertEqual(result.status, 0, "swiftleak \(command): \(result.stderr)", file: file, line: line)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Attaches to leaky with --output `directory`, takes a snapshot and
    /// detaches; returns both paths and the attach's stderr.
    private func attachSnapshotDetach(output directory: String) throws -> (snapshot: String, final: String, stderr: String) {
        let target = try startTarget(TestEnvironment.fixture("leaky"), ["interactive", "2"])
        let attach = try ChildProcess(TestEnvironment.binary, ["attach", "\(target.pid)", "--output", directory])
        addTeardownBlock { if attach.process.isRunning { attach.signal(SIGKILL) } }
        try attach.waitForLine(containing: "attached to \(target.pid)", onStderr: true, timeout: 30)
        try work(target, 10)
        let snapshot = try request("snapshot", target.pid)
        let final = try request("detach", target.pid)
        XCTAssertEqual(try attach.wait(timeout: 20), 0, attach.stderr)
        target.send("quit")
        XCTAssertEqual(try target.wait(), 0, target.stderr)
        return (snapshot, final, attach.stderr)
    }

    /// Temp-file names the old store used (`.NAME.tmp`) pre-created as
    /// 0666 files of the other user, and each first snapshot's final name
    /// as a symlink to a file of theirs.
    func testPlantedTempFilesAndSymlinksDoNotTakeTheSnapshots() throws {
        let shared = try sharedDirectory()
        let first = upcomingNames(sequence: "0001"), final = upcomingNames(sequence: "0002-final")
        try asOtherUser(in: shared, "echo mine > victim && xargs touch", list: (first + final).map { ".\($0).tmp" })
        // perl: one process for thousands of links (ln makes one a call).
        try asOtherUser(in: shared, "perl -ne 'chomp; symlink(\"victim\", $_) or die \"$_: $!\"'", list: first)

        let session = try attachSnapshotDetach(output: shared)
        try assertOursAndPrivate(session.snapshot, planted: Set(first))
        try assertOursAndPrivate(session.final, planted: Set(final))
        XCTAssertEqual(try String(contentsOfFile: shared + "/victim", encoding: .utf8), "mine\n", "the symlink's target was written")
        XCTAssertEqual(entry(shared + "/victim")?.st_uid, Self.otherUser)
        XCTAssertTrue(session.stderr.contains("warning: --output \(shared) is writable by everyone (mode 1777)"), session.stderr)
    }

    /// FIFOs under the old temp names: opening one for writing blocks until
    /// someone reads it, which used to hang `snapshot` and `detach`.
    func testPlantedFifosDoNotHangSnapshotOrDetach() throws {
        let shared = try sharedDirectory()
        let first = upcomingNames(sequence: "0001"), final = upcomingNames(sequence: "0002-final")
        try asOtherUser(in: shared, "xargs mkfifo", list: (first + final).map { ".\($0).tmp" })

        let session = try attachSnapshotDetach(output: shared)
        try assertOursAndPrivate(session.snapshot, planted: Set(first))
        try assertOursAndPrivate(session.final, planted: Set(final))
    }

    /// `--output shared/out` where the other user made `out` a symlink to a
    /// directory of their choice: refused, nothing written there.
    func testOutputSymlinkPlantedByAnotherUserIsRefused() throws {
        let shared = try sharedDirectory()
        try asOtherUser(in: shared, "mkdir elsewhere && ln -s elsewhere out")
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", shared + "/out", "--", TestEnvironment.fixture("leaky"), "batch", "5", "1"])
        XCTAssertNotEqual(run.status, 0)
        let errors = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("swiftleak: tracing") }
        XCTAssertEqual(errors, ["Error: --output \(shared)/out is a symbolic link owned by uid \(Self.otherUser), not by you: pass the directory it should be"], run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: shared + "/elsewhere"), [])
    }

    /// Directories `--output` creates are ours alone (0700), and a private
    /// directory draws no warning.
    func testCreatedOutputDirectoriesArePrivate() throws {
        let base = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", base + "/new/sub", "--", TestEnvironment.fixture("leaky"), "batch", "5", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        for path in [base + "/new", base + "/new/sub"] {
            XCTAssertEqual(entry(path).map { $0.st_mode & 0o7777 }, 0o700, path)
        }
        XCTAssertFalse(run.stderr.contains("writable by"), run.stderr)
        try assertOursAndPrivate(try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last),
                                 planted: Set(try FileManager.default.contentsOfDirectory(atPath: base + "/new/sub")))
    }
}
