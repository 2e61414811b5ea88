import XCTest
import LeakModel

final class FilterTests: XCTestCase {
    private func sizes(_ filters: [TraceFilter], _ groupBy: GroupBy = .lineno) -> [UInt64] {
        Statistics.compute(fixture, groupBy: groupBy, options: AnalysisOptions(filters: filters)).map(\.size)
    }

    func testIncludeModuleGlob() {
        XCTAssertEqual(sizes([TraceFilter(inclusive: true, field: .module, pattern: "*/libz.so*")]), [64, 32])
    }

    func testExcludeFunctionGlob() {
        XCTAssertEqual(sizes([TraceFilter(inclusive: false, field: .function, pattern: "make*")]), [500, 64, 32])
    }

    func testIncludeAndExcludeCombine() {
        // Kept: frame 0 in /app/*, but not parse. strdup's trace folds onto parse, so it goes too.
        let filters = [
            TraceFilter(inclusive: true, field: .module, pattern: "/app/*"),
            TraceFilter(inclusive: false, field: .function, pattern: "parse"),
        ]
        XCTAssertEqual(sizes(filters), [1000, 500])
    }

    func testAnyInclusiveFilterIsEnough() {
        let filters = [
            TraceFilter(inclusive: true, field: .function, pattern: "inflate"),
            TraceFilter(inclusive: true, field: .file, pattern: "*/Parser.swift"),
        ]
        XCTAssertEqual(sizes(filters), [500, 64])
    }

    func testAllFrames() {
        XCTAssertEqual(sizes([TraceFilter(inclusive: true, field: .function, pattern: "p?rse", allFrames: true)], .traceback),
                       [500, 64])
        XCTAssertEqual(sizes([TraceFilter(inclusive: false, field: .function, pattern: "main", allFrames: true)]), [])
        // Frame 0 only: main is never frame 0, so nothing is excluded.
        XCTAssertEqual(sizes([TraceFilter(inclusive: false, field: .function, pattern: "main")]).reduce(0, +), 2096)
    }

    func testFiltersSeeTheFoldedStackUnlessRaw() {
        let strdup = TraceFilter(inclusive: true, field: .function, pattern: "strdup")
        XCTAssertEqual(sizes([strdup]), [])
        let raw = Statistics.compute(fixture, groupBy: .lineno, options: AnalysisOptions(raw: true, filters: [
            TraceFilter(inclusive: true, field: .function, pattern: "strdup", allFrames: true),
        ]))
        XCTAssertEqual(raw.map(\.size), [200])
    }

    func testUnknownFieldsMatchAsEmpty() {
        // The anonymous zlib frame has no function: "*" matches it, "?*" does not.
        XCTAssertEqual(sizes([TraceFilter(inclusive: false, field: .function, pattern: "?*")]), [32])
        XCTAssertEqual(sizes([TraceFilter(inclusive: true, field: .file, pattern: "*")]).reduce(0, +), 2096)
    }

    func testGlob() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("*", "anything/with/slashes", true), ("?", "", false), ("?", "a", true),
            ("lib*.so", "libz.so", true), ("lib*.so", "libz.so.1", false), ("*.so*", "libz.so.1", true),
            ("[mp]a*", "makeCache", true), ("[mp]a*", "parse", true), ("[mp]a*", "main", true), ("[mp]a*", "xa", false),
            ("[!m]*", "main", false), ("[!m]*", "parse", true), ("[a-c]x", "bx", true), ("[a-c]x", "dx", false),
            ("[]]", "]", true), ("[!]]", "a", true), ("[", "[", true), ("a[b", "a[b", true),
            ("*a*b*c*", "xxaxxbxxcxx", true), ("*a*b*c*", "xxaxxcxxbxx", false), ("a**b", "ab", true),
            ("caf\u{e9}", "caf\u{e9}", true), ("Main", "main", false), ("[c-a]", "b", false),
        ]
        for (pattern, text, expected) in cases {
            XCTAssertEqual(Glob(pattern).matches(text), expected, "\(pattern) vs \(text)")
        }
    }

    func testGlobOnLongInputIsNotExponential() {
        let text = String(repeating: "a", count: 5000)
        XCTAssertFalse(Glob("*a*a*a*a*a*a*b").matches(text))
    }
}
