import XCTest
@testable import swiftleak

/// `--push` and its companions are checked before any tracing starts.
final class PushArgumentTests: XCTestCase {
    func parse(_ arguments: [String]) throws -> SessionArguments {
        try SessionArguments.parse(arguments)
    }

    func testPushNeedsEveryAndAValidTarget() throws {
        let ok = try parse(["--every", "1m", "--push", "http://pyroscope:4040", "--push-label", "region=eu"])
        XCTAssertEqual(ok.push, "http://pyroscope:4040")
        XCTAssertEqual(ok.pushLabel, ["region=eu"])
        for bad in [["--push", "http://p:4040"], ["--every", "1m", "--push", "p:4040"],
                    ["--every", "1m", "--push", "http://p", "--push-label", "novalue"],
                    ["--every", "1m", "--push-service", "svc"]] {
            XCTAssertThrowsError(try parse(bad), "\(bad)") { error in
                XCTAssertFalse(SessionArguments.message(for: error).contains("\n"), "\(bad)")
            }
        }
    }
}
