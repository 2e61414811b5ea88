import XCTest
@testable import LeakEvents

final class EventDecoderTests: XCTestCase {
    private func sampleStream() -> [UInt8] {
        var s = StreamBuilder()
        s.hello(pid: 77, mode: 2, frames: 21)
        s.stack(8, [0x401000, 0x402000, 0x403000])
        s.alloc(0x1000, size: 48, stack: 8)
        s.frame(type: 999, payload: [1, 2, 3])  // unknown: skipped
        s.free(0x1000)
        s.retag(0x2000, stack: 8)
        s.peak(bytes: 4096, blocks: 2)
        s.pairs(stack: 8, size: 32, count: 70_000)
        s.sync(5, lost: 0)
        return s.bytes
    }

    private let expected: [AgentEvent] = [
        .stack(id: 8, ips: [0x401000, 0x402000, 0x403000]),
        .alloc(address: 0x1000, size: 48, stack: 8),
        .free(address: 0x1000),
        .retag(address: 0x2000, stack: 8),
        .peak(bytes: 4096, blocks: 2),
        .pairs(stack: 8, size: 32, count: 70_000),
        .sync(token: 5, lostEvents: 0),
    ]

    func testDecodesHelloAndRecordsSkippingUnknownTypes() throws {
        var decoder = EventDecoder()
        var events: [AgentEvent] = []
        try decoder.feed(sampleStream()) { events.append($0) }
        XCTAssertEqual(events, expected)
        XCTAssertEqual(decoder.hello?.pid, 77)
        XCTAssertEqual(decoder.hello?.mode, .attach)
        XCTAssertEqual(decoder.hello?.framesMax, 21)
        XCTAssertEqual(decoder.hello?.startNanoseconds, 1_700_000_000_000_000_000)
        XCTAssertEqual(decoder.bufferedByteCount, 0)
    }

    func testEverySplitPointGivesTheSameEvents() throws {
        let stream = sampleStream()
        for chunkSize in [1, 2, 3, 7, 13, 40, 41, 64] {
            var decoder = EventDecoder()
            var events: [AgentEvent] = []
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunkSize, stream.count)
                try decoder.feed(Array(stream[offset..<end])) { events.append($0) }
                offset = end
            }
            XCTAssertEqual(events, expected, "chunk size \(chunkSize)")
        }
    }

    /// The reader's fast path: allocations and frees in batches, in stream
    /// order with everything else, at any split point.
    func testFieldCallbacksSeeTheSameStreamInOrder() throws {
        let stream = sampleStream()
        for chunkSize in [1, 5, 13, 41, stream.count] {
            var decoder = EventDecoder()
            var seen: [String] = []
            var offset = 0
            while offset < stream.count {
                let end = min(offset + chunkSize, stream.count)
                try Array(stream[offset..<end]).withUnsafeBytes { chunk in
                    try decoder.feed(chunk, blocks: { batch in
                        for block in batch {
                            seen.append(block.isFree ? "free \(block.address)" : "alloc \(block.address) \(block.size) \(block.stack)")
                        }
                    }, other: { seen.append("other \($0)") })
                }
                offset = end
            }
            XCTAssertEqual(seen, [
                "other stack(id: 8, ips: [4198400, 4202496, 4206592])",
                "alloc 4096 48 8",
                "free 4096",
                "other retag(address: 8192, stack: 8)",
                "other peak(bytes: 4096, blocks: 2)",
                "other pairs(stack: 8, size: 32, count: 70000)",
                "other sync(token: 5, lostEvents: 0)",
            ], "chunk size \(chunkSize)")
        }
    }

    /// Runs longer than a batch, a batch cut by another record, and a
    /// broken record after a run: every allocation and free comes once, in
    /// stream order, and what preceded the broken record is delivered.
    func testBatchesKeepStreamOrderAcrossTheirBoundaries() throws {
        var s = StreamBuilder()
        s.hello()
        var expected: [String] = []
        for index in 0..<700 {
            let address = UInt64(0x10000 + 16 * index)
            if index % 3 == 2 {
                s.free(address - 16)
                expected.append("free \(address - 16)")
            } else {
                s.alloc(address, size: UInt64(index), stack: UInt32(index % 5))
                expected.append("alloc \(address) \(index) \(index % 5)")
            }
            if index == 300 {
                s.sync(1)
                expected.append("other sync(token: 1, lostEvents: 0)")
            }
        }
        s.frame(type: 2, payload: [1, 2, 3])   // a FREE without its address
        for chunkSize in [7, 1000, s.bytes.count] {
            var decoder = EventDecoder()
            var seen: [String] = []
            var offset = 0
            XCTAssertThrowsError(try {
                while offset < s.bytes.count {
                    let end = min(offset + chunkSize, s.bytes.count)
                    try Array(s.bytes[offset..<end]).withUnsafeBytes { chunk in
                        try decoder.feed(chunk, blocks: { batch in
                            XCTAssertLessThanOrEqual(batch.count, 256)
                            for block in batch {
                                seen.append(block.isFree ? "free \(block.address)" : "alloc \(block.address) \(block.size) \(block.stack)")
                            }
                        }, other: { seen.append("other \($0)") })
                    }
                    offset = end
                }
            }(), "chunk size \(chunkSize)") { error in
                XCTAssertEqual(error as? EventStreamError, .shortRecord(type: 2, size: 3))
            }
            XCTAssertEqual(seen, expected, "chunk size \(chunkSize)")
        }
    }

    func testShortAllocationIsAnErrorOnTheFastPathToo() {
        var s = StreamBuilder()
        s.hello()
        s.frame(type: 1, payload: [UInt8](repeating: 0, count: 16))
        var decoder = EventDecoder()
        XCTAssertThrowsError(try s.bytes.withUnsafeBytes { chunk in
            try decoder.feed(chunk, blocks: { _ in XCTFail("a 16-byte allocation record (no stack id) was decoded") },
                             other: { _ in })
        }) { error in
            XCTAssertEqual(error as? EventStreamError, .shortRecord(type: 1, size: 16))
        }
    }

    func testBadMagicIsAnError() {
        var s = StreamBuilder()
        s.hello(magic: "HTTP/1.1")
        var decoder = EventDecoder()
        XCTAssertThrowsError(try decoder.feed(s.bytes) { _ in }) { error in
            XCTAssertEqual(error as? EventStreamError, .badMagic)
        }
        var early = EventDecoder()
        XCTAssertThrowsError(try early.feed(Array("GET /".utf8)) { _ in })
    }

    func testWrongVersionIsAnError() {
        var s = StreamBuilder()
        s.hello(version: 99)
        var decoder = EventDecoder()
        XCTAssertThrowsError(try decoder.feed(s.bytes) { _ in }) { error in
            XCTAssertEqual(error as? EventStreamError, .unsupportedVersion(99))
        }
    }

    func testOversizedFrameIsAnErrorNotAnAllocation() {
        var s = StreamBuilder()
        s.hello()
        s.bytes += StreamBuilder.le(UInt32.max) + StreamBuilder.le(UInt16(1)) + StreamBuilder.le(UInt16(0))
        var decoder = EventDecoder()
        XCTAssertThrowsError(try decoder.feed(s.bytes) { _ in }) { error in
            XCTAssertEqual(error as? EventStreamError, .frameTooLarge(type: 1, size: UInt32.max))
        }
    }

    /// A tail carried over between chunks is completed from the next
    /// chunk's head: an oversized frame arriving a byte at a time is still
    /// refused, and a long stream cut anywhere decodes whole.
    func testTailsCarriedOverBetweenChunks() throws {
        var big = StreamBuilder()
        big.hello()
        big.bytes += StreamBuilder.le(UInt32.max) + StreamBuilder.le(UInt16(1)) + StreamBuilder.le(UInt16(0))
        var bytewise = EventDecoder()
        XCTAssertThrowsError(try big.bytes.forEach { byte in try bytewise.feed([byte]) { _ in } }) { error in
            XCTAssertEqual(error as? EventStreamError, .frameTooLarge(type: 1, size: UInt32.max))
        }

        var s = StreamBuilder()
        s.hello()
        s.stack(3, [0x401000])
        var expected: [AgentEvent] = [.stack(id: 3, ips: [0x401000])]
        for index in 0..<500 {
            s.alloc(0x1000 + UInt64(index) * 16, size: UInt64(index), stack: 3)
            s.free(0x1000 + UInt64(index) * 16)
            expected += [.alloc(address: 0x1000 + UInt64(index) * 16, size: UInt64(index), stack: 3), .free(address: 0x1000 + UInt64(index) * 16)]
        }
        for chunkSize in [5, 31, 1000, 4099] {
            var decoder = EventDecoder()
            var events: [AgentEvent] = []
            var offset = 0
            while offset < s.bytes.count {
                let end = min(offset + chunkSize, s.bytes.count)
                try decoder.feed(Array(s.bytes[offset..<end])) { events.append($0) }
                XCTAssertLessThan(decoder.bufferedByteCount, max(32, ProtocolConstants.helloSize), "only a part of the hello or of one record is kept (chunk size \(chunkSize))")
                offset = end
            }
            XCTAssertEqual(events, expected, "chunk size \(chunkSize)")
            XCTAssertEqual(decoder.bufferedByteCount, 0)
        }
    }

    func testShortKnownRecordIsAnError() {
        var s = StreamBuilder()
        s.hello()
        s.frame(type: 1, payload: [0, 0, 0, 0])
        var decoder = EventDecoder()
        XCTAssertThrowsError(try decoder.feed(s.bytes) { _ in }) { error in
            XCTAssertEqual(error as? EventStreamError, .shortRecord(type: 1, size: 4))
        }
    }

    func testStackDeeperThanTheLimitIsRejected() {
        var s = StreamBuilder()
        s.hello()
        s.frame(type: 3, payload: StreamBuilder.le(UInt32(1)) + StreamBuilder.le(UInt32(100_000)))
        var decoder = EventDecoder()
        XCTAssertThrowsError(try decoder.feed(s.bytes) { _ in })
    }

    func testExitingRecordDecodes() throws {
        var s = StreamBuilder()
        s.hello()
        s.frame(type: 6, payload: StreamBuilder.le(UInt64(2)))
        var decoder = EventDecoder()
        var events: [AgentEvent] = []
        try decoder.feed(s.bytes) { events.append($0) }
        XCTAssertEqual(events, [.exiting(lostEvents: 2)])
        XCTAssertEqual(CommandEncoder.release(), [0, 0, 0, 0, 103, 0, 0, 0])
    }

    func testPythonRecordsDecode() throws {
        var s = StreamBuilder()
        s.hello()
        s.frame(type: 7, payload: StreamBuilder.le(UInt32(3)) + StreamBuilder.le(UInt32(11)))
        s.frame(type: 8, payload: StreamBuilder.le(UInt64(5)) + StreamBuilder.le(UInt64(2000)) + StreamBuilder.le(UInt32(0)) + StreamBuilder.le(UInt32(0)))
        s.frame(type: 8, payload: StreamBuilder.le(UInt64(6)) + StreamBuilder.le(UInt64.max) + StreamBuilder.le(UInt32(8)) + StreamBuilder.le(UInt32(0)))
        var decoder = EventDecoder()
        var events: [AgentEvent] = []
        try decoder.feed(s.bytes) { events.append($0) }
        XCTAssertEqual(events, [
            .python(PythonAllocators(state: .wrapped, minor: 11)),
            .collected(token: 5, result: .collected(2000)),
            .collected(token: 6, result: .refused(.collectorDisabled)),
        ])
        XCTAssertEqual(CommandEncoder.collect(token: 7), [8, 0, 0, 0, 104, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])
    }

    func testCommandsAreFramedForTheAgent() {
        XCTAssertEqual(CommandEncoder.sync(token: 0x0102), [8, 0, 0, 0, 101, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(CommandEncoder.stop(), [0, 0, 0, 0, 102, 0, 0, 0])
    }
}
