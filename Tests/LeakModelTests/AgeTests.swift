import XCTest
@testable import LeakModel

final class AgeTests: XCTestCase {
    func testBucketsFollowTheBounds() {
        XCTAssertEqual(AgeHistogram.bucketCount, 12)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 0), 0)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 0.999), 0)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 1), 1)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 4.9), 1)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 5), 2)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 3599), 8)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 86399), 10)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: 86400), 11)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: .infinity), 11)
        // A clock that stepped back, or garbage, counts as new.
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: -3), 0)
        XCTAssertEqual(AgeHistogram.bucket(ageSeconds: .nan), 0)
    }

    func testOlderThanIsExactOnBoundsAndRoundsUpBetweenThem() {
        var h = AgeHistogram()
        h.add(ageSeconds: 0.5, size: 1)     // bucket 0
        h.add(ageSeconds: 7, size: 10)      // [5, 10)
        h.add(ageSeconds: 45, size: 100)    // [30, 60)
        h.add(ageSeconds: 700, size: 1000)  // [600, 1800)
        h.add(ageSeconds: 100_000, size: 10_000)  // over a day
        XCTAssertEqual(h.blocks.reduce(0, +), 5)
        XCTAssertTrue(h.olderThan(seconds: 0) == (5, 11_111))
        XCTAssertTrue(h.olderThan(seconds: 1) == (4, 11_110))
        XCTAssertTrue(h.olderThan(seconds: 30) == (3, 11_100))
        XCTAssertTrue(h.olderThan(seconds: 600) == (2, 11_000))
        XCTAssertTrue(h.olderThan(seconds: 86400) == (1, 10_000))
        // 40 s is between bounds: rounded up to 60 s, so the 45 s block is left out.
        XCTAssertTrue(h.olderThan(seconds: 40) == (2, 11_000))
        XCTAssertTrue(h.olderThan(seconds: 1e9) == (0, 0))
    }

    private func agedSnapshot() -> Snapshot {
        var s = makeSnapshot(fixtureTraces)
        var young = AgeHistogram(), old = AgeHistogram()
        for _ in 0..<10 { young.add(ageSeconds: 2, size: 100) }     // site 0: 1000 B, 10 blocks, all 2 s old
        for _ in 0..<3 { old.add(ageSeconds: 4000, size: 100) }      // site 2: 300 B, 3 blocks, over an hour
        s.sites[0].ages = young
        s.sites[0].oldestAgeSeconds = 2.5
        s.sites[2].ages = old
        s.sites[2].oldestAgeSeconds = 4100
        s.sites[3].oldestAgeSeconds = 12  // an age without a histogram
        return s
    }

    func testCodecRoundTripsAges() throws {
        let s = agedSnapshot()
        let decoded = try SnapshotCodec.decode(SnapshotCodec.encode(s))
        XCTAssertEqual(decoded, s)
        XCTAssertEqual(decoded.sites[2].ages?.olderThan(seconds: 3600).bytes, 300)
        XCTAssertEqual(decoded.sites[3].oldestAgeSeconds, 12)
        XCTAssertNil(decoded.sites[3].ages)
        XCTAssertNil(decoded.sites[1].oldestAgeSeconds)
        XCTAssertTrue(decoded.hasAges)
    }

    func testSnapshotsWithoutAgesHaveNoAgesSection() throws {
        // The file stays exactly what version 1 writers produced.
        let bytes = SnapshotCodec.encode(fixture)
        let tags = try sectionTags(bytes)
        XCTAssertEqual(tags, [1, 2, 3, 4, 5])
        let decoded = try SnapshotCodec.decode(bytes)
        XCTAssertFalse(decoded.hasAges)
        XCTAssertTrue(decoded.sites.allSatisfy { $0.ages == nil && $0.oldestAgeSeconds == nil })
        XCTAssertEqual(try sectionTags(SnapshotCodec.encode(agedSnapshot())), [1, 2, 3, 4, 5, 6])
    }

    func testAgesSectionIsLastAndSkippableSoOldReadersStillWork() throws {
        // An old reader ignores tag 6: decoding without it gives the same sites minus ages.
        let bytes = SnapshotCodec.encode(agedSnapshot())
        XCTAssertEqual(SnapshotCodec.currentVersion, 1)
        var withoutAges = agedSnapshot()
        for i in withoutAges.sites.indices {
            withoutAges.sites[i].ages = nil
            withoutAges.sites[i].oldestAgeSeconds = nil
        }
        let body = Array(bytes[SnapshotCodec.headerSize...])
        let stripped = try body.prefix(upTo: offsetOfSection(6, in: body))
        var w = BinaryWriter()
        w.writeBytes(SnapshotCodec.magic)
        w.writeUInt32(1)
        w.writeUInt32(UInt32(SnapshotCodec.headerSize))
        w.writeUInt64(UInt64(stripped.count))
        w.writeUInt32(CRC32.checksum(stripped))
        w.writeBytes(Array(stripped))
        XCTAssertEqual(try SnapshotCodec.decode(w.bytes), withoutAges)
    }

    func testCorruptAgesAreRejected() {
        func decode(_ payload: [UInt8]) -> SnapshotFormatError? {
            var body = BinaryWriter()
            body.writeBytes(Array(SnapshotCodec.encode(fixture)[SnapshotCodec.headerSize...]))
            SnapshotCodec.appendSection(rawTag: 6, payload, to: &body)
            var w = BinaryWriter()
            w.writeBytes(SnapshotCodec.magic)
            w.writeUInt32(1)
            w.writeUInt32(UInt32(SnapshotCodec.headerSize))
            w.writeUInt64(UInt64(body.count))
            w.writeUInt32(CRC32.checksum(body.bytes))
            w.writeBytes(body.bytes)
            do {
                _ = try SnapshotCodec.decode(w.bytes)
                return nil
            } catch {
                return error as? SnapshotFormatError
            }
        }
        var ok = BinaryWriter()
        ok.writeVarint(1); ok.writeVarint(0); ok.writeUInt8(1); ok.writeUInt64((3.0).bitPattern)
        XCTAssertNil(decode(ok.bytes))

        var badSite = BinaryWriter()
        badSite.writeVarint(1); badSite.writeVarint(99); badSite.writeUInt8(0)
        XCTAssertNotNil(decode(badSite.bytes))

        var duplicate = BinaryWriter()
        duplicate.writeVarint(2)
        for _ in 0..<2 { duplicate.writeVarint(0); duplicate.writeUInt8(0) }
        XCTAssertNotNil(decode(duplicate.bytes))

        var badBuckets = BinaryWriter()
        badBuckets.writeVarint(1); badBuckets.writeVarint(0); badBuckets.writeUInt8(2); badBuckets.writeVarint(3)
        for _ in 0..<6 { badBuckets.writeVarint(0) }
        XCTAssertNotNil(decode(badBuckets.bytes))

        var negative = BinaryWriter()
        negative.writeVarint(1); negative.writeVarint(0); negative.writeUInt8(1); negative.writeUInt64((-1.0).bitPattern)
        XCTAssertNotNil(decode(negative.bytes))

        var flags = BinaryWriter()
        flags.writeVarint(1); flags.writeVarint(0); flags.writeUInt8(4)
        XCTAssertNotNil(decode(flags.bytes))
    }

    func testStatisticsCountOnlyOldBlocksWhenAsked() {
        let s = agedSnapshot()
        let all = Statistics.compute(s, groupBy: .function)
        XCTAssertEqual(all.first { $0.traceback.first?.function == "parse" }?.oldestAgeSeconds, 4100)
        // Two sites of makeCache: one with an age, one without: the known age wins.
        XCTAssertEqual(all.first { $0.traceback.first?.function == "makeCache" }?.oldestAgeSeconds, 2.5)
        XCTAssertNil(all.first { $0.traceback.first?.function == "inflate" }?.oldestAgeSeconds)

        let old = Statistics.compute(s, groupBy: .function, options: AnalysisOptions(olderThanSeconds: 60))
        XCTAssertEqual(old.map(\.size), [300])
        XCTAssertEqual(old.map(\.count), [3])
        XCTAssertEqual(old.first?.traceback.first?.function, "parse")
        let recent = Statistics.compute(s, groupBy: .lineno, options: AnalysisOptions(olderThanSeconds: 1))
        XCTAssertEqual(recent.map(\.size), [1000, 300])
        // No ages at all: nothing is known to be old.
        XCTAssertTrue(Statistics.compute(fixture, groupBy: .function, options: AnalysisOptions(olderThanSeconds: 0)).isEmpty)
    }

    func testComparisonCountsOnlyOldBlocksWhenAsked() {
        let new = agedSnapshot()
        let diffs = Comparison.compute(new: new, old: fixture, groupBy: .function, options: AnalysisOptions(olderThanSeconds: 3600))
        XCTAssertEqual(diffs.count, 1)
        XCTAssertEqual(diffs[0].size, 300)
        XCTAssertEqual(diffs[0].sizeDiff, 300)
        XCTAssertEqual(diffs[0].oldestAgeSeconds, 4100)
    }

    private func sectionTags(_ bytes: [UInt8]) throws -> [UInt32] {
        var r = BinaryReader(bytes, from: SnapshotCodec.headerSize)
        var tags: [UInt32] = []
        while !r.isAtEnd {
            tags.append(try r.readUInt32())
            try r.skip(Int(try r.readUInt64()))
        }
        return tags
    }

    private func offsetOfSection(_ tag: UInt32, in body: [UInt8]) throws -> Int {
        var r = BinaryReader(body)
        while !r.isAtEnd {
            let start = r.offset
            if try r.readUInt32() == tag { return start }
            try r.skip(Int(try r.readUInt64()))
        }
        XCTFail("no section \(tag)")
        return body.count
    }
}
