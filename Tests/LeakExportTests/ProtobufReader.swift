import XCTest

/// Reads back the profile.proto fields the exporter writes, straight from
/// the wire format, so the tests check bytes rather than the encoder's own
/// view of them.
struct DecodedProfile {
    struct Sample {
        var locations: [UInt64] = []
        var values: [Int64] = []
        var labels: [(key: String, text: String, number: Int64, unit: String)] = []
    }

    struct Location {
        var mapping: UInt64 = 0
        var address: UInt64 = 0
        var lines: [(function: UInt64, line: Int64)] = []
    }

    var sampleTypes: [(type: String, unit: String)] = []
    var samples: [Sample] = []
    var locations: [UInt64: Location] = [:]
    var functions: [UInt64: (name: String, file: String)] = [:]
    var mappings: [UInt64: String] = [:]
    /// Non-empty build IDs by mapping id.
    var buildIDs: [UInt64: String] = [:]
    var strings: [String] = []
    var defaultSampleType = ""
    var timeNanos: Int64 = 0
    var durationNanos: Int64 = 0

    /// Function names of a sample's stack, innermost first.
    func names(_ sample: Sample) -> [String] {
        sample.locations.map { id in
            locations[id]?.lines.first.flatMap { functions[$0.function]?.name } ?? "?"
        }
    }

    init(_ bytes: [UInt8]) throws {
        // Strings come last on the wire: gather raw messages first.
        var rawTypes: [[UInt8]] = [], rawSamples: [[UInt8]] = [], rawLocations: [[UInt8]] = []
        var rawFunctions: [[UInt8]] = [], rawMappings: [[UInt8]] = []
        var defaultIndex: Int64 = 0
        var reader = WireReader(bytes)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case let (1, .bytes(b)): rawTypes.append(b)
            case let (2, .bytes(b)): rawSamples.append(b)
            case let (3, .bytes(b)): rawMappings.append(b)
            case let (4, .bytes(b)): rawLocations.append(b)
            case let (5, .bytes(b)): rawFunctions.append(b)
            case let (6, .bytes(b)): strings.append(String(decoding: b, as: UTF8.self))
            case let (9, .varint(v)): timeNanos = Int64(bitPattern: v)
            case let (10, .varint(v)): durationNanos = Int64(bitPattern: v)
            case let (14, .varint(v)): defaultIndex = Int64(bitPattern: v)
            default: break
            }
        }
        let table = strings
        let s = { (i: UInt64) in table[Int(i)] }
        for raw in rawTypes {
            let f = try WireReader.fields(raw)
            sampleTypes.append((s(f[1]?.first ?? 0), s(f[2]?.first ?? 0)))
        }
        defaultSampleType = strings[Int(defaultIndex)]
        for raw in rawSamples {
            var sample = Sample()
            var r = WireReader(raw)
            while let (field, value) = try r.next() {
                switch (field, value) {
                case let (1, .bytes(b)): sample.locations = try WireReader.packed(b)
                case let (2, .bytes(b)): sample.values = try WireReader.packed(b).map { Int64(bitPattern: $0) }
                case let (3, .bytes(b)):
                    let l = try WireReader.fields(b)
                    sample.labels.append((s(l[1]?.first ?? 0), s(l[2]?.first ?? 0), Int64(bitPattern: l[3]?.first ?? 0), s(l[4]?.first ?? 0)))
                default: break
                }
            }
            samples.append(sample)
        }
        for raw in rawLocations {
            var location = Location()
            var id: UInt64 = 0
            var r = WireReader(raw)
            while let (field, value) = try r.next() {
                switch (field, value) {
                case let (1, .varint(v)): id = v
                case let (2, .varint(v)): location.mapping = v
                case let (3, .varint(v)): location.address = v
                case let (4, .bytes(b)):
                    let l = try WireReader.fields(b)
                    location.lines.append((l[1]?.first ?? 0, Int64(bitPattern: l[2]?.first ?? 0)))
                default: break
                }
            }
            locations[id] = location
        }
        for raw in rawFunctions {
            let f = try WireReader.fields(raw)
            functions[f[1]?.first ?? 0] = (s(f[2]?.first ?? 0), s(f[4]?.first ?? 0))
        }
        for raw in rawMappings {
            let f = try WireReader.fields(raw)
            mappings[f[1]?.first ?? 0] = s(f[5]?.first ?? 0)
            if let id = f[6]?.first, id != 0 { buildIDs[f[1]?.first ?? 0] = s(id) }
        }
    }
}

/// The protobuf wire format's two field kinds this profile uses.
struct WireReader {
    enum Value {
        case varint(UInt64)
        case bytes([UInt8])
    }

    struct Malformed: Error {}

    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard offset < bytes.count, shift < 64 else { throw Malformed() }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    mutating func next() throws -> (Int, Value)? {
        guard offset < bytes.count else { return nil }
        let key = try varint()
        switch key & 7 {
        case 0: return (Int(key >> 3), .varint(try varint()))
        case 2:
            let length = Int(try varint())
            guard offset + length <= bytes.count else { throw Malformed() }
            defer { offset += length }
            return (Int(key >> 3), .bytes(Array(bytes[offset..<offset + length])))
        default: throw Malformed()
        }
    }

    /// Varint fields of a small message by number (repeated ones in order).
    static func fields(_ bytes: [UInt8]) throws -> [Int: [UInt64]] {
        var r = WireReader(bytes), result: [Int: [UInt64]] = [:]
        while let (field, value) = try r.next() {
            if case let .varint(v) = value { result[field, default: []].append(v) }
        }
        return result
    }

    static func packed(_ bytes: [UInt8]) throws -> [UInt64] {
        var r = WireReader(bytes), result: [UInt64] = []
        while r.offset < bytes.count { result.append(try r.varint()) }
        return result
    }
}
