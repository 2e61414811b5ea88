import XCTest
import LeakModel
import LeakTestSupport
@testable import LeakExport

/// Exports of a sampled snapshot say their values are estimates.
final class EstimatedExportTests: XCTestCase {
    func testPprofCarriesTheNoteAsACommentAndTheRateAsItsPeriod() throws {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sampling = Sampling(meanBytes: 524_288, sampledLiveBlocks: 40)
        let bytes = PprofProfile.encode(snapshot)
        let profile = try DecodedProfile(bytes)
        var comments: [String] = [], period: UInt64 = 0
        var reader = WireReader(bytes)
        while let (field, value) = try reader.next() {
            if case let .varint(v) = value, field == 13 { comments.append(profile.strings[Int(v)]) }
            if case let .varint(v) = value, field == 12 { period = v }
        }
        XCTAssertEqual(period, 524_288)
        XCTAssertEqual(comments.dropFirst(), ["estimated: one allocation sampled per 512.0 KiB on average (--sample-bytes); every size and count is an estimate from 40 sampled live blocks"])

        let exact = PprofProfile.encode(makeSnapshot(fixtureTraces))
        XCTAssertFalse(try DecodedProfile(exact).strings.contains { $0.hasPrefix("estimated") })
    }

    func testSpeedscopeNamesTheProfileEstimated() {
        var snapshot = makeSnapshot(fixtureTraces)
        snapshot.sampling = Sampling(meanBytes: 65536, sampledLiveBlocks: 3)
        XCTAssertTrue(SpeedscopeProfile.encode(snapshot, name: "server").contains(#""name":"server (estimated)""#))
        XCTAssertTrue(SpeedscopeProfile.encode(makeSnapshot(fixtureTraces), name: "server").contains(#""name":"server","#))
    }
}
