import Foundation
import XCTest
import LeakModel
import LeakReport
import LeakTestSupport

/// `leaks` JSON names each row's unreachable blocks by type, in `top`'s
/// `"types"` shape, only when the scan named any.
final class LeakTypesJSONTests: XCTestCase {
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
        let json = JSONReport.leaks(snapshot: snapshot, stats: stats, cycles: [], groupBy: .lineno)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["stats"] as? [[String: Any]])
    }

    func testEachRowNamesItsUnreachableBlocksByType() throws {
        let rows = try rows(scanned(named: true))
        XCTAssertEqual(rows.map { $0["size"] as? Int }, [196, 64])
        let types = rows.map { ($0["types"] as? [[String: Any]] ?? []).map { "\($0["name"]!) \($0["count"]!) \($0["size"]!)" } }
        XCTAssertEqual(types, [["unknown 1 100", "app.Node 2 96"], ["app.Buffer 1 64"]])
    }

    func testWithoutNamedTypesTheRowsHaveNoTypes() throws {
        let rows = try rows(scanned(named: false))
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows.allSatisfy { $0["types"] == nil })
    }
}
