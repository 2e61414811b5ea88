import XCTest
import LeakModel
@testable import swiftleak

/// The command line's own readers: sizes, durations, and the gate messages
/// that name its flags.
final class ArgumentParsingTests: XCTestCase {
    func testByteSizes() throws {
        XCTAssertEqual(try SizeArgument.parse("123"), 123)
        XCTAssertEqual(try SizeArgument.parse("123B"), 123)
        XCTAssertEqual(try SizeArgument.parse("512KiB"), 512 * 1024)
        XCTAssertEqual(try SizeArgument.parse("1MiB"), 1 << 20)
        XCTAssertEqual(try SizeArgument.parse("50MiB"), 50 << 20)
        XCTAssertEqual(try SizeArgument.parse("50mib"), 50 << 20)
        XCTAssertEqual(try SizeArgument.parse("2GiB"), 2 << 30)
        XCTAssertEqual(try SizeArgument.parse("100MB"), 100_000_000)
        XCTAssertEqual(try SizeArgument.parse("100mb"), 100_000_000)
        XCTAssertEqual(try SizeArgument.parse("1kb"), 1000)
        XCTAssertEqual(try SizeArgument.parse("64M"), 64 << 20)
        XCTAssertEqual(try SizeArgument.parse(" 10 MiB "), 10 << 20)
        XCTAssertEqual(try SizeArgument.parse("1.5KiB"), 1536)
        for bad in ["", "MiB", "-5MiB", "5 XB", "1.2.3MiB", "99999999999999999999", "20000000TiB", "5MiBs"] {
            XCTAssertThrowsError(try SizeArgument.parse(bad), bad) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains("'\(bad)'"), text)
                XCTAssertFalse(text.contains("\n"))
            }
        }
    }

    func testDurations() throws {
        XCTAssertEqual(try DurationArgument.parse("30s"), 30)
        XCTAssertEqual(try DurationArgument.parse("10m"), 600)
        XCTAssertEqual(try DurationArgument.parse("2h"), 7200)
        XCTAssertEqual(try DurationArgument.parse("1d"), 86400)
        XCTAssertEqual(try DurationArgument.parse("500ms"), 0.5)
        XCTAssertEqual(try DurationArgument.parse("1.5H"), 5400)
        XCTAssertEqual(try DurationArgument.parse("90 S"), 90)
        for bad in ["", "10", "s", "5w", "-1s", "1.5.2s", "10 minutes"] {
            XCTAssertThrowsError(try DurationArgument.parse(bad), bad) { error in
                XCTAssertTrue(String(describing: error).contains("'\(bad)'"))
            }
        }
    }

    func testOptionsParseOnce() throws {
        let gates = try GateArguments.parse(["--max-peak", "50MiB", "--max-growth", "1.5KiB", "--warmup", "10s"])
        XCTAssertEqual(gates.gate, MemoryGate(maxPeakBytes: 50 << 20, maxGrowthBytes: 1536))
        XCTAssertEqual(try GateArguments.parse(["--warmup", "signal"]).warmup, .firstSignal)
        XCTAssertThrowsError(try GateArguments.parse(["--warmup", "ten"])) { error in
            let text = GateArguments.message(for: error)
            XCTAssertTrue(text.contains("invalid duration 'ten'") && text.contains("or use --warmup signal"), text)
        }
        XCTAssertEqual(try SessionArguments.parse(["--every", "200ms", "--keep", "3"]).every, 0.2)
        XCTAssertThrowsError(try SessionArguments.parse(["--every", "50ms"])) { error in
            XCTAssertEqual(SessionArguments.message(for: error), "--every must be at least 100ms")
        }
    }

    func testFiltersAreReadOnce() throws {
        let analysis = try AnalysisArguments.parse(["--include", "function:make*", "--exclude", "module:*libz*", "--include", "cache.c"])
        XCTAssertEqual(analysis.options.filters, [
            TraceFilter(inclusive: true, field: .function, pattern: "make*"),
            TraceFilter(inclusive: true, field: .file, pattern: "cache.c"),
            TraceFilter(inclusive: false, field: .module, pattern: "*libz*"),
        ])
        XCTAssertThrowsError(try AnalysisArguments.parse(["--include", "file:"])) { error in
            XCTAssertTrue(AnalysisArguments.message(for: error).contains("empty pattern in file:"))
        }
    }

    func testGateViolationsNameTheFlags() {
        XCTAssertEqual(GateArguments.describe(.peak(bytes: UInt64(61.2 * 1048576), limit: 50 << 20)),
                       "peak 61.2 MiB exceeds --max-peak 50.0 MiB")
        XCTAssertEqual(GateArguments.describe(.growth(bytes: 3 << 20, sinceSequence: 1, limit: 1 << 20)),
                       "growth 3.0 MiB since snapshot 1 exceeds --max-growth 1.0 MiB")
        XCTAssertEqual(GateArguments.describe(.growth(bytes: 2 << 20, sinceSequence: nil, limit: 1 << 20)),
                       "growth 2.0 MiB since tracing started exceeds --max-growth 1.0 MiB")
    }
}
