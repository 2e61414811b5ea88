import Foundation
import LeakModel
import LeakSymbols
import XCTest

/// Symbolizes the test process itself: libc (stripped, .dynsym only on
/// Debian), unmapped memory, and the cost of lookups.
final class SymbolizerSelfTests: XCTestCase {
    func testLibcFunctionFromDynamicSymbols() throws {
        let malloc = try XCTUnwrap(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc"))
        let address = UInt64(UInt(bitPattern: malloc))
        let symbolizer = try Symbolizer(pid: getpid())
        let frame = symbolizer.symbolize(address: address, isReturnAddress: false)
        XCTAssertTrue(["malloc", "__libc_malloc"].contains(frame.function ?? ""), "\(frame)")
        XCTAssertTrue(frame.module?.hasSuffix("libc.so.6") ?? false, "\(frame)")
        XCTAssertEqual(frame.address, address)
    }

    func testUnmappedAddressGivesAddressOnly() throws {
        let symbolizer = try Symbolizer(pid: getpid())
        for address: UInt64 in [0, 0x10, 0xffff_ffff_ffff_fff0] {
            XCTAssertEqual(symbolizer.symbolize(address: address, isReturnAddress: true), Frame(address: address))
            XCTAssertEqual(symbolizer.symbolize(address: address, isReturnAddress: false), Frame(address: address))
        }
    }

    func testAnonymousMappingGivesAddressOnly() throws {
        // Stands in for a JIT code buffer: executable, but backed by no file.
        let size = 4096
        let page = mmap(nil, size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        XCTAssertNotEqual(page, MAP_FAILED)
        defer { munmap(page, size) }
        let address = UInt64(UInt(bitPattern: page)) + 16
        let symbolizer = try Symbolizer(pid: getpid())
        XCTAssertEqual(symbolizer.symbolize(address: address, isReturnAddress: false), Frame(address: address))
    }

    func testUnknownPidThrowsOneLineError() {
        XCTAssertThrowsError(try Symbolizer(pid: Int32.max)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("/proc/\(Int32.max)/maps"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    /// Measures lookup cost in the test binary (Swift, with DWARF, -Onone),
    /// libc, and the release (-O) swiftleak binary (large, much inlined): a
    /// first pass (pays for opening the module, its indexes and the DWARF it
    /// touches), a second pass over other distinct addresses of the same
    /// module, and a cached pass. Prints the rates, the frames per address
    /// (inline levels) and the share of frames with file:line; asserts names
    /// only. `Scripts/bench --symbolizer` runs this same code against an
    /// older symbolizer too, so it uses only `symbolize(stack:)`.
    func testLookupCost() throws {
        let release = try ReleaseBinaryProcess()
        defer { release.stop() }
        for (label, pid, range) in [("test binary", getpid(), try executableRange(containing: "xctest", pid: getpid())),
                                    ("libc", getpid(), try executableRange(containing: "libc.so.6", pid: getpid())),
                                    ("swiftleak -O", release.pid, try executableRange(containing: release.path, pid: release.pid))] {
            let symbolizer = try Symbolizer(pid: pid)
            let count: UInt64 = 2000
            let step = max((range.upperBound - range.lowerBound) / count, 2)
            let first = (0..<count).map { range.lowerBound + $0 * step }
            let second = first.map { $0 + step / 2 }
            var frames: [Frame] = []
            let cold = measureSeconds { frames = symbolizer.symbolize(stack: first) }
            let distinct = measureSeconds { _ = symbolizer.symbolize(stack: second) }
            let cached = measureSeconds { _ = symbolizer.symbolize(stack: first) }
            let named = Set(frames.filter { $0.function != nil }.map(\.address)).count
            let located = frames.filter { $0.file != nil && $0.line != 0 }.count
            print(String(format: "%@: %d addresses (%d named) per ms: %.1f first pass, %.1f other distinct, %.0f cached; %.2f frames per address, %.1f%% with file:line",
                         label, Int(count), named, rate(count, cold), rate(count, distinct), rate(count, cached),
                         Double(frames.count) / Double(count), 100 * Double(located) / Double(max(frames.count, 1))))
            XCTAssertGreaterThan(named, Int(count) / 2)
        }
    }

    private func rate(_ count: UInt64, _ seconds: Double) -> Double {
        Double(count) / (seconds * 1000)
    }

    private func measureSeconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The first executable mapping of the process whose path contains `name`.
    private func executableRange(containing name: String, pid: Int32) throws -> Range<UInt64> {
        // Read to EOF: /proc files have size 0, which some readers trust.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/\(pid)/maps"))
        defer { try? handle.close() }
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        for line in maps.split(separator: "\n") where line.contains("r-xp") && line.contains(name) {
            let bounds = line.split(separator: " ")[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            if bounds.count == 2 { return bounds[0]..<bounds[1] }
        }
        throw FixtureError("no executable mapping of \(name) in /proc/\(pid)/maps")
    }
}
