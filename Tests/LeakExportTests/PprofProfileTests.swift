import CZlib
import XCTest
import LeakModel
import LeakTestSupport
@testable import LeakExport

final class PprofProfileTests: XCTestCase {
    /// The fixture server's sites with ages and cumulative counts, plus one
    /// site that freed all it allocated.
    func fixture() -> Snapshot {
        var snapshot = makeSnapshot(fixtureTraces)
        for i in snapshot.sites.indices {
            snapshot.sites[i].oldestAgeSeconds = Double(10 * (i + 1)) + 0.4
            snapshot.sites[i].allocated = AllocationTotals(blocks: snapshot.sites[i].count * 3, bytes: snapshot.sites[i].size * 3)
        }
        snapshot.frames.append(F.gone)
        snapshot.stacks.append([0, snapshot.frames.count - 1])
        snapshot.sites.append(Site(stack: snapshot.stacks.count - 1, size: 0, count: 0, allocated: AllocationTotals(blocks: 9, bytes: 900)))
        return snapshot
    }

    func testSampleTypesAreGosHeapProfilesWithInuseSpaceByDefault() throws {
        let profile = try DecodedProfile(PprofProfile.encode(fixture()))
        XCTAssertEqual(profile.sampleTypes.map(\.type), ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"])
        XCTAssertEqual(profile.sampleTypes.map(\.unit), ["count", "bytes", "count", "bytes"])
        XCTAssertEqual(profile.defaultSampleType, "inuse_space")
        XCTAssertEqual(profile.strings.first, "")
        XCTAssertEqual(profile.timeNanos, 1_714_564_800_123_000_000)
        XCTAssertEqual(profile.durationNanos, 100_123_000_000)
    }

    func testOneSamplePerSiteWithFoldedStacksValuesAndAge() throws {
        let profile = try DecodedProfile(PprofProfile.encode(fixture()))
        XCTAssertEqual(profile.samples.count, 7)
        let first = profile.samples[0]
        // malloc, swift_slowAlloc and swift_allocObject folded away, as `top` shows it.
        XCTAssertEqual(profile.names(first), ["makeCache", "main"])
        XCTAssertEqual(first.values, [30, 3000, 10, 1000])
        XCTAssertEqual(first.labels.count, 1)
        XCTAssertEqual(first.labels[0].key, "age")
        XCTAssertEqual(first.labels[0].number, 10)
        XCTAssertEqual(first.labels[0].unit, "seconds")
        let location = try XCTUnwrap(profile.locations[first.locations[0]])
        XCTAssertEqual(location.address, 0x4010)
        XCTAssertEqual(location.lines.first?.line, 10)
        XCTAssertEqual(profile.functions[location.lines[0].function]?.file, "/src/Cache.swift")
        XCTAssertEqual(profile.mappings[location.mapping], "/app/server")
        // The program's own mapping is mapping 1: pprof names the profile after it.
        XCTAssertEqual(profile.mappings[1], "/app/server")

        let churn = profile.samples[6]
        XCTAssertEqual(profile.names(churn), ["gone"])
        XCTAssertEqual(churn.values, [9, 900, 0, 0])
        XCTAssertTrue(churn.labels.isEmpty)
        // A frame without a name keeps its address and module.
        let anonymous = profile.samples[5]
        XCTAssertEqual(profile.locations[anonymous.locations[0]]?.address, 0x8100)
        XCTAssertEqual(profile.locations[anonymous.locations[0]]?.lines.count, 0)
    }

    func testMappingsCarryTheSnapshotsBuildIDs() throws {
        var snapshot = fixture()
        snapshot.buildIDs = ["/app/server": "666388a251d17b34"]
        let profile = try DecodedProfile(PprofProfile.encode(snapshot))
        XCTAssertEqual(profile.mappings[1], "/app/server")
        XCTAssertEqual(profile.buildIDs[1], "666388a251d17b34")
        XCTAssertEqual(profile.buildIDs.count, 1, "modules without a known build ID carry none")
    }

    func testRawKeepsTheAllocatorFrames() throws {
        let profile = try DecodedProfile(PprofProfile.encode(fixture(), raw: true))
        XCTAssertEqual(profile.names(profile.samples[0]), ["malloc", "swift_slowAlloc", "swift_allocObject", "makeCache", "main"])
    }

    func testAPythonFrameIsAFunctionOfItsPyFileWithoutAMapping() throws {
        let py = Frame(function: "handle_request", file: "/srv/app/views.py", line: 42, address: 0)
        let snapshot = makeSnapshot([([F.agentMalloc, py, F.main], 128, 2)])
        let profile = try DecodedProfile(PprofProfile.encode(snapshot))
        let location = try XCTUnwrap(profile.locations[profile.samples[0].locations[0]])
        XCTAssertEqual(location.mapping, 0)
        XCTAssertEqual(profile.functions[location.lines[0].function]?.name, "handle_request")
        XCTAssertEqual(profile.functions[location.lines[0].function]?.file, "/srv/app/views.py")
        XCTAssertEqual(location.lines[0].line, 42)
    }

    func testGrowthIsTheNewSitesPlusTheOldOnesNegatedAndLabelledBase() throws {
        let new = makeSnapshot(fixtureTraces)
        let old = makeSnapshot([fixtureTraces[0], fixtureTraces[2]])
        let profile = try DecodedProfile(PprofProfile.encode(new, old: old))
        XCTAssertEqual(profile.samples.count, 8)
        let base = profile.samples.suffix(2)
        XCTAssertEqual(base.map(\.values), [[0, 0, -10, -1000], [0, 0, -3, -300]])
        for sample in base {
            XCTAssertTrue(sample.labels.contains { $0.key == "pprof::base" && $0.text == "true" })
        }
        // The same frames share locations across both snapshots.
        XCTAssertEqual(profile.samples[0].locations, profile.samples[6].locations)
        let inuse = profile.samples.reduce(Int64(0)) { $0 + $1.values[3] }
        XCTAssertEqual(inuse, 2096 - 1300)
    }

    func testGzipRoundTripsThroughZlib() throws {
        let raw = PprofProfile.encode(fixture())
        let gz = try Gzip.compress(raw)
        XCTAssertEqual(Array(gz.prefix(2)), [0x1f, 0x8b])
        var stream = z_stream()
        XCTAssertEqual(inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)), Z_OK)
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: raw.count + 64)
        var input = gz
        let produced = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o -> Int in
                stream.next_in = i.baseAddress
                stream.avail_in = UInt32(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                XCTAssertEqual(inflate(&stream, Z_FINISH), Z_STREAM_END)
                return o.count - Int(stream.avail_out)
            }
        }
        XCTAssertEqual(Array(out[..<produced]), raw)
    }

    func testProtobufNegativeNumbersTakeTenBytes() {
        var w = ProtobufWriter()
        w.packed(2, [Int64(-1), 300])
        XCTAssertEqual(w.bytes, [0x12, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xac, 0x02])
    }
}
