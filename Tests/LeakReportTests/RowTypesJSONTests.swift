import Foundation
import XCTest
import LeakModel
import LeakReport
import LeakTestSupport

/// `top`, `diff` and `leaks` JSON name each row's blocks by type
/// (`"types": [{"name","count","size"}]`) only when the snapshot knows types.
final class RowTypesJSONTests: XCTestCase {
    /// Two sites: makeCache leaked a cycle of two app.Node (48 bytes each)
    /// and one unnamed 100-byte buffer; parse leaked one app.Buffer of 64.
    private func scanned(named: Bool) -> Snapshot {
        var snapshot = makeSnapshot([([F.agentMalloc, F.cache10, F.main], 196, 3), ([F.agentMalloc, F.parse, F.main], 64, 1)])
        func block(_ stack: Int, _ address: UInt64, _ size: UInt64, _ type: String?, cycle: UInt32? = nil) -> UnreachableBlock {
            UnreachableBlock(stack: stack, address: address, size: size, isDirect: cycle == nil, cycle: cycle,
                             firstBytes: [], typeName: named ? type : nil)
        }
        snapshot.reachability = ReachabilityScan(
            pauseSeconds: 0.01, totalSeconds: 0.02, knownBlocks: 4, copiedBytes: 4096, threads: 1,
            unreachable: [block(0, 0x1000, 48, "app.Node", cycle: 0), block(0, 0x2000, 48, "app.Node", cycle: 0),
                          block(0, 0x3000, 100, nil), block(1, 0x4000, 64, "app.Buffer")],
            retainers: [])
        return snapshot
    }

    private func rows(_ snapshot: Snapshot) throws -> [[String: Any]] {
        let stats = UnreachableMemory.statistics(snapshot, groupBy: .lineno)
        return try rows(JSONReport.leaks(snapshot: snapshot, stats: stats, cycles: [], groupBy: .lineno))
    }

    private func rows(_ json: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["stats"] as? [[String: Any]])
    }

    func testEachRowNamesItsUnreachableBlocksByType() throws {
        let rows = try rows(scanned(named: true))
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [196, 64])
        let types = rows.map { ($0["types"] as? [[String: Any]] ?? []).map { "\($0["name"]!) \($0["count"]!) \($0["size"]!)" } }
        XCTAssertEqual(types, [["unknown 1 100", "app.Node 2 96"], ["app.Buffer 1 64"]])
    }

    private func typeNames(_ rows: [[String: Any]]) -> [[String]] {
        rows.map { ($0["types"] as? [[String: Any]] ?? []).map { "\($0["name"]!) \($0["count"]!) \($0["size"]!)" } }
    }

    /// Live: makeCache's 4 blocks (two Node, one Buffer, one unnamed) over
    /// two stacks that fold to one line; parse's 64 bytes counted no types.
    private func typed(_ withTypes: Bool) -> Snapshot {
        var snapshot = makeSnapshot([([F.agentMalloc, F.cache10, F.main], 196, 4), ([F.slowAlloc, F.cache10, F.main], 32, 1),
                                     ([F.agentMalloc, F.parse, F.main], 64, 1)])
        if withTypes {
            snapshot.sites[0].types = [BlockTypeCount(name: "app.Node", blocks: 2, bytes: 96),
                                       BlockTypeCount(name: "app.Buffer", blocks: 1, bytes: 40)]
            snapshot.sites[1].types = [BlockTypeCount(name: "app.Node", blocks: 1, bytes: 32)]
            snapshot.sites[2].types = []
        }
        return snapshot
    }

    func testTopRowsSumTheirSitesTypes() throws {
        let snapshot = typed(true)
        var json = ""
        JSONReport.writeTop(snapshot: snapshot, stats: Statistics.compute(snapshot, groupBy: .lineno), groupBy: .lineno, to: &json)
        let rows = try rows(json)
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [228, 64])
        XCTAssertEqual(typeNames(rows), [["app.Node 3 128", "unknown 1 60", "app.Buffer 1 40"], ["unknown 1 64"]])
    }

    func testDiffRowsCarryTheNewSnapshotsTypes() throws {
        let old = makeSnapshot([([F.agentMalloc, F.parse, F.main], 64, 1)]), new = typed(true)
        var json = ""
        JSONReport.writeDiff(old: old, new: new, diffs: Comparison.compute(new: new, old: old, groupBy: .lineno), groupBy: .lineno, to: &json)
        let rows = try rows(json)
        XCTAssertEqual(rows.map { $0["size_diff"] as? Int }, [228, 0])
        XCTAssertEqual(typeNames(rows), [["app.Node 3 128", "unknown 1 60", "app.Buffer 1 40"], ["unknown 1 64"]])
    }

    func testWithoutTypesTopIsUnchanged() throws {
        let snapshot = typed(false)
        var json = ""
        JSONReport.writeTop(snapshot: snapshot, stats: Statistics.compute(snapshot, groupBy: .lineno), groupBy: .lineno, to: &json)
        XCTAssertFalse(json.contains("\"types\""))
        XCTAssertEqual(json, JSONReport.top(snapshot: snapshot, stats: Statistics.compute(snapshot, groupBy: .lineno), groupBy: .lineno))
    }

    func testWithoutNamedTypesTheRowsHaveNoTypes() throws {
        let rows = try rows(scanned(named: false))
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows.allSatisfy { $0["types"] == nil })
    }
}
