import Foundation
import XCTest

/// Where the built binary, the agent and the fixtures are. Scripts/test sets
/// SWIFTLEAK_BIN and SWIFTLEAK_FIXTURES; without them, the release build and
/// Tests/Fixtures/bin of this checkout. A missing piece fails the test with
/// the command that builds it (never a silent skip).
enum TestEnvironment {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var binary: String {
        ProcessInfo.processInfo.environment["SWIFTLEAK_BIN"] ?? packageRoot + "/.build/release/swiftleak"
    }

    static var agent: String {
        URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("libswiftleak-agent.so").path
    }

    static var fixtures: String {
        ProcessInfo.processInfo.environment["SWIFTLEAK_FIXTURES"] ?? packageRoot + "/Tests/Fixtures/bin"
    }

    static func fixture(_ name: String) -> String {
        fixtures + "/" + name
    }

    /// Fails (not skips) when the build products are missing.
    static func requireBuilt(file: StaticString = #filePath, line: UInt = #line) throws {
        for path in [binary, agent] where !FileManager.default.isExecutableFile(atPath: path) && !FileManager.default.fileExists(atPath: path) {
            XCTFail("\(path) is missing: run Scripts/build first (Scripts/test does)", file: file, line: line)
            throw CancellationError()
        }
        for name in ["leaky", "exceptions", "SwiftLeaky", "mallocbench", "SwiftService", "hammer", "RetainCycles", "warming"] where !FileManager.default.isExecutableFile(atPath: fixtures + "/" + name) {
            XCTFail("fixture \(name) is missing: run Scripts/build-fixtures", file: file, line: line)
            throw CancellationError()
        }
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "swiftleak-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
