import Foundation
import XCTest

/// Drives the built `swiftleak` binary and reads its JSON.
enum SwiftLeakCLI {
    /// Paths of the snapshots a session reported on stderr, in order.
    static func snapshotPaths(in stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "written: ") else { return nil }
            return String(line[range.upperBound...])
        }
    }

    /// `swiftleak <arguments> --format json`, parsed; fails the test on a non-zero exit.
    static func json(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try runCommand(TestEnvironment.binary, arguments + ["--format", "json"])
        XCTAssertEqual(result.status, 0, "swiftleak \(arguments.joined(separator: " ")) failed: \(result.stderr)", file: file, line: line)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        guard let dictionary = object as? [String: Any] else {
            XCTFail("not a JSON object: \(result.stdout)", file: file, line: line)
            throw CancellationError()
        }
        return dictionary
    }

    static func stats(_ document: [String: Any]) -> [[String: Any]] {
        document["stats"] as? [[String: Any]] ?? []
    }

    static func frame0(_ stat: [String: Any]) -> [String: Any] {
        (stat["traceback"] as? [[String: Any]])?.first ?? [:]
    }

    static func function(_ stat: [String: Any]) -> String? {
        frame0(stat)["function"] as? String
    }

    static func int(_ value: Any?) -> Int64? {
        (value as? NSNumber)?.int64Value
    }
}
