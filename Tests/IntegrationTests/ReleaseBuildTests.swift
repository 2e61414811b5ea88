import Foundation
import XCTest

/// Programs built the way they ship (`c++ -O2 -g`, `rustc -O -g`): their
/// leaks are allocated inside the C++ and Rust standard libraries, partly
/// inlined. Folded, each row is the program's own line with the exact
/// blocks; `--raw` still shows the library frames; Rust names are demangled
/// without their hash. Ground truth: Tests/Fixtures/std_cxx.cpp and
/// rust_sessions.rs (their header comments), lines marked in the sources.
final class ReleaseBuildTests: XCTestCase {
    let sessions = 300

    override func setUpWithError() throws {
        try TestEnvironment.requireBuilt()
        for name in ["std_cxx", "rust_sessions"] where !FileManager.default.isExecutableFile(atPath: TestEnvironment.fixture(name)) {
            XCTFail("fixture \(name) is missing: run Scripts/build-fixtures")
            throw CancellationError()
        }
    }

    func testRustLeakIsAtTheProgramsLineWithReadableNames() throws {
        let snapshot = try finalSnapshot("rust_sessions", expecting: "leaked \(sessions) sessions of 1000 bytes\n")
        let raw = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--raw", "--group-by", "traceback", "--limit", "0"]))
        let names = raw.flatMap(Self.functions)

        // Demangled, legacy (the program) and v0 (the standard library) alike:
        // no mangled name and no hash is left anywhere in the snapshot.
        XCTAssertFalse(names.isEmpty)
        for name in names {
            XCTAssertFalse(name.hasPrefix("_R") || name.hasPrefix("_ZN"), "mangled: \(name)")
            XCTAssertNil(name.range(of: "::h[0-9a-f]{16}", options: .regularExpression), "hash left in \(name)")
        }
        XCTAssertTrue(names.contains("rust_sessions::open_session"), "\(Set(names))")
        XCTAssertTrue(names.contains { $0.hasPrefix("std::rt::lang_start") }, "the runtime's frames read as Rust: \(Set(names))")

        let line = try markedLine("rust_sessions.rs", "// the leak site")
        let rows = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", "lineno", "--limit", "0"]))
        let byFunction = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", "function", "--limit", "0"]))
        let leak = try XCTUnwrap(byFunction.first { SwiftLeakCLI.function($0) == "rust_sessions::open_session" }, Self.describe(byFunction))
        XCTAssertEqual(SwiftLeakCLI.int(leak["count"]), Int64(sessions))
        XCTAssertEqual(SwiftLeakCLI.int(leak["size"]), Int64(sessions * 1000))
        for row in rows {
            XCTAssertFalse(Self.isRustLibrary(SwiftLeakCLI.frame0(row)), "a library frame heads a folded row: \(Self.describe([row]))")
        }

        // With one frame per inline level, the row is the vec! line itself
        // (without, the return address's line is the innermost inlined
        // library line, in open_session).
        XCTAssertTrue(Self.expandsInlineLevels(raw), "no frame is marked inlined: \(Self.describe(Array(raw.prefix(3))))")
        let site = rows.first { Self.isAt($0, file: "rust_sessions.rs", line: line) }
        let row = try XCTUnwrap(site, "no row at rust_sessions.rs:\(line): \(Self.describe(Array(rows.prefix(5))))")
        XCTAssertEqual(SwiftLeakCLI.int(row["count"]), Int64(sessions))
        XCTAssertEqual(SwiftLeakCLI.int(row["size"]), Int64(sessions * 1000))
        // The allocation path (alloc::alloc::alloc, RawVec, from_elem) is
        // folded away but kept by --raw, above the program's frame.
        let rawLeak = try XCTUnwrap(raw.first { Self.functions($0).contains("rust_sessions::open_session") })
        let above = Self.frames(rawLeak).prefix { $0["function"] as? String != "rust_sessions::open_session" }
        XCTAssertTrue(above.contains { Self.isRustLibrary($0) }, Self.describe([rawLeak]))
    }

    func testCxxStandardLibraryAllocationsAreAtTheProgramsLines() throws {
        let snapshot = try finalSnapshot("std_cxx", expecting: "leaked \(sessions) sessions\n")
        let raw = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--raw", "--group-by", "traceback", "--limit", "0"]))
        let rows = SwiftLeakCLI.stats(try SwiftLeakCLI.json(["top", snapshot, "--group-by", "lineno", "--limit", "0"]))
        // --raw shows where the library allocated: the string in libstdc++
        // (_M_construct), the growth and make_shared in the headers.
        let rawNames = raw.flatMap(Self.functions)
        XCTAssertTrue(rawNames.contains { $0.contains("basic_string") && $0.contains("_M_construct") }, "\(Set(rawNames))")
        XCTAssertTrue(rawNames.contains { $0.contains("std::vector<long") }, "\(Set(rawNames))")
        XCTAssertTrue(rawNames.contains { $0.contains("std::__new_allocator<std::_Sp_counted_ptr_inplace<Session") }, "\(Set(rawNames))")
        XCTAssertTrue(raw.flatMap(Self.frames).contains { ($0["module"] as? String)?.contains("libstdc++.so") == true })
        // Folded, no row starts in the library.
        for row in rows {
            let frame = SwiftLeakCLI.frame0(row)
            XCTAssertFalse((frame["file"] as? String)?.contains("/include/c++/") == true, "a library line heads a row: \(Self.describe([row]))")
            XCTAssertFalse((frame["module"] as? String)?.contains("libstdc++") == true, "a library frame heads a row: \(Self.describe([row]))")
        }
        let program = rows.filter { (SwiftLeakCLI.frame0($0)["file"] as? String)?.hasSuffix("/std_cxx.cpp") == true }
        let blocks = program.compactMap { SwiftLeakCLI.int($0["count"]) }.reduce(0, +)
        XCTAssertGreaterThanOrEqual(blocks, Int64(3 * sessions), "three blocks a session: \(Self.describe(program))")

        // With one frame per inline level, each site is its own row (without,
        // open_session's frame took the innermost inlined library name and
        // only main's call line was left).
        XCTAssertTrue(Self.expandsInlineLevels(raw), "no frame is marked inlined: \(Self.describe(Array(raw.prefix(3))))")
        // Three a session, the registry's vector and its buffer.
        XCTAssertEqual(blocks, Int64(3 * sessions + 2), Self.describe(program))
        // One row per site, with its exact blocks (see std_cxx.cpp's header).
        let expected: [(marker: String, size: Int64?)] = [("// string site", 41), ("// vector site", 1024), ("// shared site", nil)]
        for (marker, blockSize) in expected {
            let line = try markedLine("std_cxx.cpp", marker)
            let site = rows.first { Self.isAt($0, file: "std_cxx.cpp", line: line) }
            let row = try XCTUnwrap(site, "no row at std_cxx.cpp:\(line) (\(marker)): \(Self.describe(rows))")
            XCTAssertEqual(SwiftLeakCLI.int(row["count"]), Int64(sessions), marker)
            if let blockSize {
                XCTAssertEqual(SwiftLeakCLI.int(row["size"]), Int64(sessions) * blockSize, marker)
            } else {
                // The control block and the Session (208 bytes) in one block.
                XCTAssertGreaterThan(SwiftLeakCLI.int(row["size"]) ?? 0, Int64(sessions * 208), marker)
            }
        }
    }

    // MARK: helpers

    private func finalSnapshot(_ fixture: String, expecting output: String) throws -> String {
        let directory = try TestEnvironment.temporaryDirectory()
        let run = try runCommand(TestEnvironment.binary, ["run", "--output", directory, "--", TestEnvironment.fixture(fixture), "\(sessions)"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, output)
        return try XCTUnwrap(SwiftLeakCLI.snapshotPaths(in: run.stderr).last, run.stderr)
    }

    /// The 1-based line of the fixture's source holding `marker`.
    private func markedLine(_ file: String, _ marker: String) throws -> Int64 {
        let source = try String(contentsOfFile: TestEnvironment.packageRoot + "/Tests/Fixtures/" + file, encoding: .utf8)
        let index = try XCTUnwrap(source.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) }, marker)
        return Int64(index + 1)
    }

    /// Whether the snapshot has frames marked as inline levels.
    private static func expandsInlineLevels(_ stats: [[String: Any]]) -> Bool {
        stats.flatMap(frames).contains { $0["inlined"] as? Bool == true }
    }

    private static func isAt(_ row: [String: Any], file: String, line: Int64) -> Bool {
        let frame = SwiftLeakCLI.frame0(row)
        return (frame["file"] as? String)?.hasSuffix("/" + file) == true && SwiftLeakCLI.int(frame["line"]) == line
    }

    private static func isRustLibrary(_ frame: [String: Any]) -> Bool {
        let file = frame["file"] as? String ?? ""
        let function = frame["function"] as? String ?? ""
        return ["alloc::", "core::", "std::", "__rust"].contains { function.hasPrefix($0) }
            || (frame["function"] as? String == nil && ["library/alloc/", "library/core/", "library/std/"].contains { file.contains($0) })
    }

    private static func frames(_ stat: [String: Any]) -> [[String: Any]] {
        stat["traceback"] as? [[String: Any]] ?? []
    }

    private static func functions(_ stat: [String: Any]) -> [String] {
        frames(stat).compactMap { $0["function"] as? String }
    }

    private static func describe(_ stats: [[String: Any]]) -> String {
        stats.map { stat in
            let numbers = ["count", "size"].compactMap { key in stat[key].map { "\(key)=\($0)" } }
            let frames = frames(stat).prefix(4).map { frame in
                "\(frame["function"] as? String ?? "?") \(frame["file"] as? String ?? ""):\(frame["line"] ?? "")"
            }
            return numbers.joined(separator: " ") + " " + frames.joined(separator: " <- ")
        }.joined(separator: "\n")
    }
}
