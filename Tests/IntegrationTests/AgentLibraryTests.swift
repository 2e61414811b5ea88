import Foundation
import XCTest

/// The injected library must bring nothing into the target but libc: the
/// unwinder is loaded privately at run time (see Sources/Agent).
final class AgentLibraryTests: XCTestCase {
    func testAgentDependsOnLibcOnly() throws {
        try TestEnvironment.requireBuilt()
        let result = try runCommand("/usr/bin/readelf", ["-d", TestEnvironment.agent])
        XCTAssertEqual(result.status, 0, result.stderr)
        let needed = result.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        XCTAssertFalse(needed.isEmpty)
        for library in needed {
            XCTAssertTrue(["libc.so.6", "ld-linux-x86-64.so.2"].contains(library), "the agent must not need \(library)")
        }
        let ldd = try runCommand("/usr/bin/ldd", [TestEnvironment.agent])
        XCTAssertFalse(ldd.stdout.contains("swift"), ldd.stdout)
        XCTAssertFalse(ldd.stdout.contains("stdc++"), ldd.stdout)
    }
}
