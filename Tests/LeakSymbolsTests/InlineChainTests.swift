@testable import LeakSymbols
import XCTest

/// Levels without a line of their own take their call site's.
final class InlineChainTests: XCTestCase {
    private typealias Level = InlineChain.Level

    func testCompilerGeneratedLevelsTakeTheLineThatInlinedThem() {
        var levels = [
            Level(name: "Array._allocateUninitialized", file: "<compiler-generated>", line: 0, isInlined: true),
            Level(name: "Array(repeating:count:)", file: "//<compiler-generated>", line: 0, isInlined: true),
            Level(name: "Session.init", file: "/src/Session.swift", line: 19, isInlined: true),
            Level(name: "open", file: "/src/Session.swift", line: 38, isInlined: false),
        ]
        InlineChain.giveCallSiteLines(&levels)
        XCTAssertEqual(levels.map(\.file), Array(repeating: "/src/Session.swift", count: 4))
        XCTAssertEqual(levels.map(\.line), [19, 19, 19, 38])
        XCTAssertEqual(levels.map(\.name), ["Array._allocateUninitialized", "Array(repeating:count:)", "Session.init", "open"])
    }

    func testLineZeroInARealFileAlsoTakesItsCallersLine() {
        var levels = [
            Level(name: "helper", file: "/src/a.c", line: 0, isInlined: true),
            Level(name: "caller", file: "/src/b.c", line: 7, isInlined: false),
        ]
        InlineChain.giveCallSiteLines(&levels)
        XCTAssertEqual(levels[0].file, "/src/b.c")
        XCTAssertEqual(levels[0].line, 7)
    }

    func testTheOutermostLevelKeepsWhatItHas() {
        var levels = [Level(name: "main", file: "<compiler-generated>", line: 0, isInlined: false)]
        InlineChain.giveCallSiteLines(&levels)
        XCTAssertEqual(levels, [Level(name: "main", file: "<compiler-generated>", line: 0, isInlined: false)])
        var lineless = [
            Level(name: "inner", file: nil, line: 0, isInlined: true),
            Level(name: "outer", file: nil, line: 0, isInlined: false),
        ]
        InlineChain.giveCallSiteLines(&lineless)
        XCTAssertEqual(lineless.map(\.line), [0, 0])
    }
}
