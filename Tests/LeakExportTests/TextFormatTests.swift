import Foundation
import XCTest
import LeakModel
import LeakTestSupport
@testable import LeakExport

final class TextFormatTests: XCTestCase {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Frames by name only: the two lines of makeCache make one stack; strdup
    /// is an allocator's frame, folded into its caller parse.
    func testCollapsedIsOneOuterFirstLinePerFoldedStack() {
        let snapshot = makeSnapshot(fixtureTraces)
        XCTAssertEqual(text(CollapsedStacks.encode(snapshot)), """
        main;makeCache 1500
        main;parse 500
        main;parse;inflate 64
        main;inflate;0x8100 in libz.so.1 32

        """)
        XCTAssertEqual(text(CollapsedStacks.encode(snapshot, kind: .inuseObjects)).split(separator: "\n").first, "main;makeCache 15")
    }

    func testCollapsedMergesStacksThatReadTheSameAndEscapesSemicolons() {
        let odd = Frame(function: "operator;weird", module: "/app/server", address: 0x10)
        // Two lines of makeCache name the same stack; an allocator-only stack keeps its outermost frame.
        let snapshot = makeSnapshot([([F.cache10, F.main], 7, 1), ([F.cache12, F.main], 3, 1), ([odd], 1, 1)])
        XCTAssertEqual(text(CollapsedStacks.encode(snapshot)), "main;makeCache 10\noperator:weird 1\n")
    }

    func testCollapsedWithOldWritesBothValuesForEveryChangedOrKeptStack() {
        let new = makeSnapshot([fixtureTraces[0], fixtureTraces[2]])
        let old = makeSnapshot([([F.agentMalloc, F.parse, F.main], 100, 1), ([F.gone], 50, 1)])
        XCTAssertEqual(text(CollapsedStacks.encode(new, old: old)), """
        main;makeCache 0 1000
        main;parse 100 300
        gone 50 0

        """)
    }

    func speedscope(_ new: Snapshot, old: Snapshot? = nil) throws -> [String: Any] {
        let json = SpeedscopeProfile.encode(new, old: old, name: "server")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    func testSpeedscopeIsOneSampledProfileOuterFirst() throws {
        let file = try speedscope(makeSnapshot([fixtureTraces[0], fixtureTraces[2]]))
        XCTAssertEqual(file["$schema"] as? String, "https://www.speedscope.app/file-format-schema.json")
        XCTAssertEqual(file["name"] as? String, "server")
        let frames = try XCTUnwrap((file["shared"] as? [String: Any])?["frames"] as? [[String: Any]])
        XCTAssertEqual(frames.map { $0["name"] as? String }, ["main", "makeCache", "parse"])
        XCTAssertEqual(frames[1]["file"] as? String, "/src/Cache.swift")
        XCTAssertEqual(frames[1]["line"] as? Int, 10)
        let profiles = try XCTUnwrap(file["profiles"] as? [[String: Any]])
        XCTAssertEqual(profiles.count, 1)
        XCTAssertEqual(profiles[0]["type"] as? String, "sampled")
        XCTAssertEqual(profiles[0]["unit"] as? String, "bytes")
        XCTAssertEqual(profiles[0]["samples"] as? [[Int]], [[0, 1], [0, 2]])
        XCTAssertEqual(profiles[0]["weights"] as? [Int], [1000, 300])
        XCTAssertEqual(profiles[0]["endValue"] as? Int, 1300)
    }

    func testSpeedscopeGrowthIsAGrewAndAShrankProfileWithPositiveWeights() throws {
        let new = makeSnapshot([fixtureTraces[0], ([F.agentMalloc, F.parse, F.main], 100, 1)])
        let old = makeSnapshot([([F.agentMalloc, F.parse, F.main], 300, 3), ([F.gone], 50, 1)])
        let profiles = try XCTUnwrap(try speedscope(new, old: old)["profiles"] as? [[String: Any]])
        XCTAssertEqual(profiles.map { $0["name"] as? String }, ["grew (inuse_space)", "shrank (inuse_space)"])
        XCTAssertEqual(profiles[0]["weights"] as? [Int], [1000])
        XCTAssertEqual(profiles[1]["weights"] as? [Int], [200, 50])
    }
}
