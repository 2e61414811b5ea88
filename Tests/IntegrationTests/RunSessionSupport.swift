import Foundation
import XCTest

extension XCTestCase {
    /// `swiftleak run --output DIR -- EXECUTABLE ARGUMENTS` as a child of the
    /// test, returned once the program printed its "ready" line (the
    /// readiness handshake); killed at the end of the test if still there.
    func startRunSession(_ executable: String, _ arguments: [String], file: StaticString = #filePath,
                         line: UInt = #line) throws -> ChildProcess {
        let output = try TestEnvironment.temporaryDirectory()
        let session = try ChildProcess(TestEnvironment.binary, ["run", "--output", output, "--", executable] + arguments)
        addTeardownBlock { if session.process.isRunning { session.signal(SIGKILL) } }
        try session.waitForLine(containing: "ready", file: file, line: line)
        return session
    }
}

/// Asks a `swiftleak run` session for a snapshot (SIGUSR1) and waits until it
/// has written `total` snapshots in all; returns their paths.
@discardableResult
func snapshotRunSession(_ session: ChildProcess, total: Int, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
    session.signal(SIGUSR1)
    let written = try session.waitForLines(containing: "snapshot written: ", count: total, onStderr: true, file: file, line: line)
    let paths = SwiftLeakCLI.snapshotPaths(in: written.joined(separator: "\n"))
    XCTAssertEqual(paths.count, total, "\(written)", file: file, line: line)
    return paths
}
