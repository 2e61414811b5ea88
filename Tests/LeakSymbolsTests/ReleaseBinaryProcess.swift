import Foundation
import XCTest

/// A live process of the release (-O) swiftleak binary, to symbolize a large
/// optimized Swift binary: `swiftleak run -- cat` traces a `cat` that reads
/// a pipe the test keeps open, so both wait until `stop()`.
final class ReleaseBinaryProcess {
    /// SWIFTLEAK_BIN (Scripts/test sets it), else this checkout's release
    /// build; symbolic links resolved, as /proc/PID/maps names it.
    let path: String
    private let process = Process()
    private let input = Pipe()
    /// Where its one (final) snapshot goes; removed by `stop()`.
    private let output: String

    var pid: Int32 { process.processIdentifier }

    init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let given = ProcessInfo.processInfo.environment["SWIFTLEAK_BIN"] ?? root.path + "/.build/release/swiftleak"
        path = URL(fileURLWithPath: given).resolvingSymlinksInPath().path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw FixtureError("\(path) is missing: run Scripts/build first (Scripts/test does)")
        }
        process.executableURL = URL(fileURLWithPath: path)
        output = NSTemporaryDirectory() + "swiftleak-release-" + UUID().uuidString
        process.arguments = ["run", "--output", output, "--", "/bin/cat"]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Until exec, /proc/PID still shows the test binary's image.
        let deadline = Date(timeIntervalSinceNow: 10)
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) != path {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw FixtureError("\(path) did not start within 10 s")
            }
            usleep(1000)
        }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: output)
    }
}
