import XCTest
@testable import LeakPush

final class PyroscopeIngestTests: XCTestCase {
    func testTheIngestURLCarriesNameLabelsTimesAndFormat() throws {
        let ingest = try PyroscopeIngest(base: "http://pyroscope:4040/", service: "checkout", labels: ["region=eu-west", "tier=web"])
        XCTAssertEqual(ingest.url(from: 1_700_000_000, until: 1_700_000_010),
                       "http://pyroscope:4040/ingest?name=checkout%7Bregion%3Deu-west%2Ctier%3Dweb%7D&from=1700000000&until=1700000010&format=pprof")
        let noLabels = try PyroscopeIngest(base: "https://p.example/prefix/ingest", service: "a.b_c", labels: [])
        XCTAssertEqual(noLabels.url(from: 1, until: 2), "https://p.example/prefix/ingest?name=a.b_c%7B%7D&from=1&until=2&format=pprof")
    }

    func testBadTargetsAreRefusedWithOneLine() {
        for (base, service, labels) in [("pyroscope:4040", "a", [String]()), ("http://", "a", []), ("http://p", "", []),
                                        ("http://p", "has space", []), ("http://p", "a", ["novalue"]), ("http://p", "a", ["k=v,w"])] {
            XCTAssertThrowsError(try PyroscopeIngest(base: base, service: service, labels: labels)) { error in
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }
}
