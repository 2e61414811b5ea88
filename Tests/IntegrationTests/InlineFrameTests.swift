import Foundation
import XCTest

/// Optimized builds (C++ -O2 -g, Swift -O -g) leak through inlined helpers:
/// every inline level must appear in the traceback as llvm-symbolizer
/// --inlines sees it, and `--group-by lineno` must name the program's line.
final class InlineFrameTests: XCTestCase {
    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
    }

    func testOptimizedCxxTracebacksListEveryInlineLevel() throws {
        let run = try OptimizedRun(fixture: "inline_cxx", source: "inline_cxx.cpp")
        let stats = try run.stats(groupBy: "traceback")
        try run.checkAgainstLLVMSymbolizer(try run.stats(groupBy: "traceback", raw: true), comparesNames: true)

        // The std::string case, whatever becomes of the std:: frames above it:
        // its 32-byte object and its 101-byte buffer both come through make_name.
        let chain = [("make_name", "make_name"), ("remember", "remember"),
                     ("handle(int)", "handle remember"), ("main", "main")]
        let strings = stats.filter { OptimizedRun.count($0) == 5000 && run.contains(chain, in: $0) }
        XCTAssertEqual(strings.count, 2, "object and buffer of the leaked strings: \(stats)")
        XCTAssertTrue(stats.contains { run.contains([("make_record", "make_record"), ("keep_record", "keep_record"),
                                                     ("handle(int)", "handle keep_record"), ("main", "main")], in: $0) })
        XCTAssertTrue(stats.contains { run.contains([("make_counters", "make_counters"), ("count", "count"),
                                                     ("handle(int)", "handle count"), ("main", "main")], in: $0) })

        // The program's own inlined helpers call malloc/new directly: their lines, not an address.
        let lines = try run.stats(groupBy: "lineno")
        for (site, size) in [("make_record", 48), ("make_counters", 32)] {
            let stat = try XCTUnwrap(lines.first { run.isAt(site, $0) }, "no group at \(site): \(lines)")
            XCTAssertEqual(OptimizedRun.count(stat), 5000)
            XCTAssertEqual(OptimizedRun.int(stat["size"]), Int64(5000 * size))
        }
        // The string objects; their buffers too once std:: frames are folded.
        let names = try XCTUnwrap(lines.first { run.isAt("make_name", $0) }, "no group at make_name: \(lines)")
        let sizes = [OptimizedRun.count(names) ?? 0, OptimizedRun.int(names["size"]) ?? 0]
        XCTAssertTrue([[5000, 5000 * 32], [10000, 5000 * (32 + 101)]].contains(sizes), "\(names)")
    }

    func testOptimizedSwiftLeaksLandOnTheProgramsOwnLines() throws {
        let run = try OptimizedRun(fixture: "InlineSwift", source: "InlineSwift.swift")
        let stats = try run.stats(groupBy: "traceback")
        // llvm-symbolizer prints Swift names mangled: compare files and lines.
        try run.checkAgainstLLVMSymbolizer(try run.stats(groupBy: "traceback", raw: true), comparesNames: false)
        XCTAssertTrue(stats.contains { run.contains([("Session.init", "buffer"), ("makeSession", "makeSession"),
                                                     ("open", "open makeSession"), ("main", "main")], in: $0) },
                      "\(stats)")

        // The standard library's compiler-generated levels take the program's line.
        let lines = try run.stats(groupBy: "lineno")
        for (site, size) in [("buffer", 512), ("addTags", 16 * 8)] {
            let stat = try XCTUnwrap(lines.first { run.isAt(site, $0) }, "no group at \(site): \(lines)")
            XCTAssertEqual(OptimizedRun.count(stat), 2000)
            XCTAssertGreaterThanOrEqual(OptimizedRun.int(stat["size"]) ?? 0, Int64(2000 * size))
        }
        XCTAssertEqual(OptimizedRun.count(try XCTUnwrap(lines.first { run.isAt("makeSession", $0) })), 2000)
    }
}

/// One `swiftleak run` of an optimized fixture that prints "base 0x..." (its
/// load address), and what the test needs to read its final snapshot.
struct OptimizedRun {
    let binary: String
    /// The fixture's source file name, as its frames' files end.
    let source: String
    let base: UInt64
    let snapshot: String
    let sourceLines: [Substring]

    init(fixture: String, source: String) throws {
        binary = TestEnvironment.fixture(fixture)
        self.source = source
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            XCTFail("fixture \(fixture) is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
        let text = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/" + source, encoding: .utf8)
        sourceLines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let output = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", output, "--", binary])
        XCTAssertEqual(run.status, 0, run.stderr)
        let baseText = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("base 0x") }, run.stdout)
        base = try XCTUnwrap(UInt64(baseText.dropFirst("base 0x".count), radix: 16))
        snapshot = try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
    }

    /// Every group; `raw` keeps the allocator frames (and the Swift
    /// `__allocating_init` levels) that analyses fold.
    func stats(groupBy: String, raw: Bool = false) throws -> [[String: Any]] {
        SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", groupBy, "--limit", "0"] + (raw ? ["--raw"] : [])))
    }

    /// 1-based line of the source line ending in "SITE <marker>".
    func line(_ marker: String) -> Int {
        (sourceLines.firstIndex { $0.hasSuffix("SITE " + marker) } ?? -2) + 1
    }

    static func frames(_ stat: [String: Any]) -> [[String: Any]] {
        stat["traceback"] as? [[String: Any]] ?? []
    }

    static func count(_ stat: [String: Any]) -> Int64? { int(stat["count"]) }
    static func int(_ value: Any?) -> Int64? { SwiftLeakCLI.int(value) }

    static func basename(_ path: Any?) -> String? {
        (path as? String).map { URL(fileURLWithPath: $0).lastPathComponent }
    }

    /// Whether the group's frame is this fixture's source at the marked line.
    func isAt(_ marker: String, _ stat: [String: Any]) -> Bool {
        let frame = SwiftLeakCLI.frame0(stat)
        return Self.basename(frame["file"]) == source && Self.int(frame["line"]) == Int64(line(marker))
    }

    /// Whether the traceback has frames whose functions contain these names,
    /// in this order (other frames may come between), each at its marked
    /// line of the fixture.
    func contains(_ chain: [(function: String, marker: String)], in stat: [String: Any]) -> Bool {
        var links = chain[...]
        for frame in Self.frames(stat) {
            guard let link = links.first else { break }
            if (frame["function"] as? String)?.contains(link.function) == true,
               Self.int(frame["line"]) == Int64(line(link.marker)) {
                links = links.dropFirst()
            }
        }
        return links.isEmpty
    }

    /// Every address of the fixture's own module in the tracebacks, run
    /// through llvm-symbolizer --inlines at the call (address - 1): as many
    /// frames as it has inline levels, innermost first, the same files and
    /// lines, except that a level at line 0 takes the line of the level that
    /// inlined it; all but the last marked inlined.
    func checkAgainstLLVMSymbolizer(_ stats: [[String: Any]], comparesNames: Bool,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        var levelsByAddress: [UInt64: [[String: Any]]] = [:]
        for stat in stats {
            var groups: [(UInt64, [[String: Any]])] = []
            for frame in Self.frames(stat) where Self.basename(frame["module"]) == Self.basename(binary) {
                let address = try XCTUnwrap(UInt64((frame["address"] as? String ?? "").dropFirst(2), radix: 16))
                if groups.last?.0 == address { groups[groups.count - 1].1.append(frame) } else { groups.append((address, [frame])) }
            }
            for (address, frames) in groups { levelsByAddress[address] = frames }
        }
        XCTAssertGreaterThan(levelsByAddress.count, 3, "too few frames of \(binary) to compare", file: file, line: line)
        let addresses = levelsByAddress.keys.sorted()
        let expected = try llvmSymbolizer(addresses.map { $0 - 1 - base })
        XCTAssertEqual(expected.count, addresses.count, file: file, line: line)
        var inlinedLevels = 0
        for (address, reference) in zip(addresses, expected) {
            let ours = levelsByAddress[address]!
            let context = "at \(String(address - base, radix: 16)): ours \(ours), llvm-symbolizer \(reference)"
            XCTAssertEqual(ours.count, reference.count, context, file: file, line: line)
            guard ours.count == reference.count else { continue }
            inlinedLevels += ours.count - 1
            for (index, (frame, level)) in zip(ours, reference).enumerated() {
                XCTAssertEqual(Self.int(frame["line"]).map(Int.init), level.line, context, file: file, line: line)
                if level.line != nil {
                    XCTAssertEqual(Self.basename(frame["file"]), Self.basename(level.file), context, file: file, line: line)
                }
                XCTAssertEqual(frame["inlined"] as? Bool ?? false, index < ours.count - 1, context, file: file, line: line)
                if comparesNames { XCTAssertEqual(frame["function"] as? String, level.function, context, file: file, line: line) }
            }
        }
        XCTAssertGreaterThanOrEqual(inlinedLevels, 4, "the fixture's leaks go through inlined code", file: file, line: line)
    }

    /// llvm-symbolizer's levels per address, lines 0 and `<compiler-generated>`
    /// replaced by the line of the level that inlined them.
    func llvmSymbolizer(_ offsets: [UInt64]) throws -> [[(function: String, file: String?, line: Int?)]] {
        let tool = ["/usr/bin/llvm-symbolizer", "/opt/swift/usr/bin/llvm-symbolizer"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        let symbolizer = try XCTUnwrap(tool, "llvm-symbolizer is needed (Debian: llvm, or the Swift toolchain's)")
        let result = try runCommand(symbolizer, ["--inlines", "--obj=" + binary] + offsets.map { "0x" + String($0, radix: 16) })
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            let lines = block.split(separator: "\n")
            var levels = stride(from: 0, to: lines.count - 1, by: 2).map { index -> (function: String, file: String?, line: Int?) in
                // "path:line:column"
                let parts = lines[index + 1].split(separator: ":")
                let number = parts.count >= 3 ? Int(parts[parts.count - 2]) ?? 0 : 0
                let path = parts.count >= 3 ? parts.dropLast(2).joined(separator: ":") : nil
                let known = number != 0 && path != nil && !path!.hasSuffix("<compiler-generated>")
                return (String(lines[index]), known ? path : nil, known ? number : nil)
            }
            for index in stride(from: levels.count - 2, through: 0, by: -1) where levels[index].line == nil {
                levels[index].file = levels[index + 1].file
                levels[index].line = levels[index + 1].line
            }
            return levels
        }
    }
}
