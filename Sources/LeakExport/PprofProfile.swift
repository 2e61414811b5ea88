import LeakModel
import LeakReport

/// A snapshot as a pprof profile (google/pprof proto/profile.proto), the
/// way Go writes heap profiles: sample types alloc_objects, alloc_space,
/// inuse_objects, inuse_space (default inuse_space), one sample per site,
/// innermost location first, each site's oldest live block as the numeric
/// label "age" in seconds. Functions carry file and line, mappings the
/// module's build ID when the snapshot has it; a frame without a
/// module (a Python frame of a .py file) is a location without a mapping.
///
/// With an old snapshot the profile is the growth, written as
/// `go tool pprof -diff_base` writes one: the new sites, plus the old sites
/// negated and labelled pprof::base=true.
///
/// A sampled snapshot's values are estimates: the profile says so in a
/// comment (`EstimatedFigures`) and carries the rate as its period, as Go's
/// sampled heap profiles do.
public enum PprofProfile {
    /// profile.proto, uncompressed; gzip it (`Gzip`) for files and pushes.
    public static func encode(_ snapshot: Snapshot, old: Snapshot? = nil, raw: Bool = false) -> [UInt8] {
        var builder = Builder()
        // pprof names the profile after mapping 1: make it the program's own.
        let program = snapshot.programName
        if let main = snapshot.frames.first(where: { $0.module.map(FrameText.basename) == program }), let module = main.module {
            _ = builder.mapping(module, address: main.address)
        }
        builder.add(ExportedStacks(snapshot, raw: raw), negated: false)
        if let old { builder.add(ExportedStacks(old, raw: raw), negated: true) }
        return builder.encoded(snapshot.metadata, buildIDs: snapshot.buildIDs.merging(old?.buildIDs ?? [:]) { new, _ in new },
                               estimated: EstimatedFigures.lines([snapshot] + (old.map { [$0] } ?? [])), period: snapshot.sampling?.meanBytes ?? 1)
    }

    private struct FunctionKey: Hashable {
        var name: String
        var file: String?
    }

    /// Interns strings, mappings, functions and locations while samples are added.
    private struct Builder {
        var strings: [String] = [""]
        var stringIndex: [String: Int64] = ["": 0]
        var mappingIndex: [String: Int] = [:]
        /// Per mapping: module path and the address range its frames span.
        var mappings: [(path: String, low: UInt64, high: UInt64)] = []
        var functionIndex: [FunctionKey: UInt64] = [:]
        var locationIndex: [Frame: UInt64] = [:]
        var locations = ProtobufWriter()
        var functions = ProtobufWriter()
        var samples = ProtobufWriter()
        var ageKey: Int64 = 0
        var secondsUnit: Int64 = 0
        var baseKey: Int64 = 0
        var trueText: Int64 = 0

        init() {
            for kind in SampleKind.allCases {
                _ = string(kind.rawValue)
                _ = string(kind.unit)
            }
            ageKey = string("age")
            secondsUnit = string("seconds")
            baseKey = string("pprof::base")
            trueText = string("true")
        }

        mutating func string(_ s: String) -> Int64 {
            if let index = stringIndex[s] { return index }
            let index = Int64(strings.count)
            strings.append(s)
            stringIndex[s] = index
            return index
        }

        mutating func mapping(_ module: String, address: UInt64) -> UInt64 {
            if let index = mappingIndex[module] {
                mappings[index].low = min(mappings[index].low, address)
                mappings[index].high = max(mappings[index].high, address)
                return UInt64(index + 1)
            }
            mappingIndex[module] = mappings.count
            mappings.append((module, address, address))
            return UInt64(mappings.count)
        }

        mutating func function(_ frame: Frame) -> UInt64? {
            guard let name = frame.function else { return nil }
            let key = FunctionKey(name: name, file: frame.file)
            if let id = functionIndex[key] { return id }
            let id = UInt64(functionIndex.count + 1)
            functionIndex[key] = id
            let nameIndex = string(name)
            let fileIndex = frame.file.map { string($0) } ?? 0
            functions.field(5) { f in
                f.field(1, id)
                f.field(2, nameIndex)
                f.field(3, nameIndex)
                f.field(4, fileIndex)
            }
            return id
        }

        mutating func location(_ frame: Frame) -> UInt64 {
            if let id = locationIndex[frame] { return id }
            let id = UInt64(locationIndex.count + 1)
            locationIndex[frame] = id
            let mappingID = frame.module.map { mapping($0, address: frame.address) } ?? 0
            let functionID = function(frame)
            locations.field(4) { l in
                l.field(1, id)
                l.field(2, mappingID)
                l.field(3, frame.address)
                if let functionID {
                    l.field(4) { line in
                        line.field(1, functionID)
                        line.field(2, Int64(frame.line))
                    }
                }
            }
            return id
        }

        mutating func add(_ exported: ExportedStacks, negated: Bool) {
            // Hash each distinct frame once: sites share most of their frames.
            var ids = [UInt64](repeating: 0, count: exported.frames.count)
            for (stack, site) in zip(exported.stacks, exported.sites) {
                let path = stack.map { frame -> UInt64 in
                    if ids[frame] == 0 { ids[frame] = location(exported.frames[frame]) }
                    return ids[frame]
                }
                add(path, site, negated: negated)
            }
        }

        mutating func add(_ ids: [UInt64], _ site: Site, negated: Bool) {
            let sign: Int64 = negated ? -1 : 1
            let values = SampleKind.allCases.map { sign * Int64(clamping: $0.value(of: site)) }
            let age = site.oldestAgeSeconds
            let (ageKey, secondsUnit, baseKey, trueText) = (self.ageKey, self.secondsUnit, self.baseKey, self.trueText)
            samples.field(2) { s in
                s.packed(1, ids)
                s.packed(2, values)
                if let age {
                    s.field(3) { label in
                        label.field(1, ageKey)
                        label.field(3, Int64(age.rounded()))
                        label.field(4, secondsUnit)
                    }
                }
                if negated {
                    s.field(3) { label in
                        label.field(1, baseKey)
                        label.field(2, trueText)
                    }
                }
            }
        }

        mutating func encoded(_ metadata: SnapshotMetadata, buildIDs: [String: String], estimated: [String], period: UInt64) -> [UInt8] {
            // Every string first: the table goes out after the messages that use it.
            let mappingFiles = mappings.map { string($0.path) }
            let mappingIDs = mappings.map { buildIDs[$0.path].map { string($0) } ?? 0 }
            let space = string("space"), bytes = string("bytes")
            let command = string(metadata.command.joined(separator: " "))
            let notes = estimated.map { string($0) }
            let kinds = SampleKind.allCases.map { (string($0.rawValue), string($0.unit)) }

            var out = ProtobufWriter()
            for (type, unit) in kinds {
                out.field(1) { v in
                    v.field(1, type)
                    v.field(2, unit)
                }
            }
            var bytesOut = out.bytes
            bytesOut += samples.bytes
            var rest = ProtobufWriter()
            for (index, mapping) in mappings.enumerated() {
                rest.field(3) { m in
                    m.field(1, UInt64(index + 1))
                    m.field(2, mapping.low)
                    m.field(3, mapping.high &+ 1)
                    m.field(5, mappingFiles[index])
                    m.field(6, mappingIDs[index])
                    // Symbolized already: keeps pprof from looking for the binaries.
                    m.field(7, true)
                    m.field(8, true)
                    m.field(9, true)
                }
            }
            bytesOut += rest.bytes
            bytesOut += locations.bytes
            bytesOut += functions.bytes
            var tail = ProtobufWriter()
            for s in strings { tail.field(6, string: s) }
            tail.field(9, Int64(clamping: metadata.timeNanoseconds))
            tail.field(10, Int64(clamping: metadata.timeNanoseconds &- min(metadata.timeNanoseconds, metadata.startNanoseconds)))
            tail.field(11) { v in
                v.field(1, space)
                v.field(2, bytes)
            }
            tail.field(12, Int64(clamping: period))
            tail.field(13, command)
            for note in notes { tail.field(13, note) }
            tail.field(14, kinds[SampleKind.allCases.firstIndex(of: .inuseSpace)!].0)
            bytesOut += tail.bytes
            return bytesOut
        }
    }
}
