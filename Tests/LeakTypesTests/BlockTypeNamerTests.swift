import LeakSymbols
import LeakTypes
import XCTest

/// Memory laid out by a test: words and strings at chosen addresses.
final class FakeMemory: TargetMemory {
    var bytes: [UInt64: UInt8] = [:]
    private(set) var reads = 0

    func put(_ word: UInt64, at address: UInt64) {
        for i in 0..<8 { bytes[address + UInt64(i)] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i))) }
    }

    func put(_ string: String, at address: UInt64) {
        for (i, byte) in (Array(string.utf8) + [0]).enumerated() { bytes[address + UInt64(i)] = byte }
    }

    func read(_ address: UInt64, count: Int) -> [UInt8]? {
        reads += 1
        var out: [UInt8] = []
        for i in 0..<count {
            guard let byte = bytes[address + UInt64(i)] else { return out.isEmpty ? nil : out }
            out.append(byte)
        }
        return out
    }
}

/// Data symbols by start address and size.
final class FakeSymbols: DataSymbolLookup {
    var symbols: [(start: UInt64, size: UInt64, name: String)] = []
    private(set) var lookups = 0

    func dataSymbol(at address: UInt64) -> DataSymbol? {
        lookups += 1
        guard let s = symbols.first(where: { address >= $0.start && address < $0.start + $0.size }) else { return nil }
        return DataSymbol(name: s.name, module: "/app/service", offset: address - s.start)
    }
}

final class BlockTypeNamerTests: XCTestCase {
    let symbols = FakeSymbols()
    let memory = FakeMemory()

    override func setUp() {
        symbols.symbols = [
            (0x40_0000, 96, "$s7service7SessionCN"),
            (0x40_1000, 96, "$s7service7HandlerCMf"),
            (0x40_2000, 40, "_ZTVN6shapes6CircleE"),
            (0x40_3000, 8, "_ZN6shapes5countE"),
            (0x40_4000, 60, "$s7service3BoxCMn"),
        ]
    }

    func testSwiftClassesAndCxxVTablesAreNamedByTheirSymbols() {
        let namer = BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: false)
        XCTAssertEqual(namer.name(BlockHead(address: 0x1000, words: [0x40_0000, 3])), "service.Session")
        XCTAssertEqual(namer.name(BlockHead(address: 0x1000, words: [0x40_1018, 3])), "service.Handler")
        XCTAssertEqual(namer.name(BlockHead(address: 0x1000, words: [0x40_2010, 1])), "shapes::Circle")
        // Inside a vtable but before its address point, in a plain global, or past the metadata.
        XCTAssertNil(namer.name(BlockHead(address: 0x1000, words: [0x40_2008])))
        XCTAssertNil(namer.name(BlockHead(address: 0x1000, words: [0x40_3000])))
        XCTAssertNil(namer.name(BlockHead(address: 0x1000, words: [0x40_1040])))
        XCTAssertNil(namer.name(BlockHead(address: 0x1000, words: [])))
    }

    func testEachDistinctFirstWordIsLookedUpOnce() {
        let namer = BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: false)
        for i in 0..<10_000 {
            let word0: UInt64 = i % 2 == 0 ? 0x40_0000 : 0x40_2010
            _ = namer.name(BlockHead(address: 0x10_0000 + UInt64(i) * 32, words: [word0, UInt64(i)]))
        }
        XCTAssertEqual(symbols.lookups, 2)
    }

    func testGenericClassMetadataOnTheHeapIsNamedByItsDescriptor() {
        let metadata: UInt64 = 0x7f00_0000_1000
        for (i, word) in [0, 0, 2, 0x7_0000_0018, 0x18_0000_0080, 0x40_4000].enumerated() {
            memory.put(UInt64(word), at: metadata + UInt64(i * 8))
        }
        let namer = BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: false)
        XCTAssertEqual(namer.name(BlockHead(address: 0x2000, words: [metadata, 3])), "service.Box")
        // Not read at all in a target without the Swift runtime.
        let readsBefore = memory.reads
        XCTAssertNil(BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: false, pythonObjects: false)
            .name(BlockHead(address: 0x2000, words: [metadata, 3])))
        XCTAssertEqual(memory.reads, readsBefore)
        // The same words with a non-class kind are not class metadata.
        memory.put(0x200, at: metadata)
        XCTAssertNil(BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: false)
            .name(BlockHead(address: 0x2000, words: [metadata, 3])))
    }

    /// `type` at 0x50000 (its own type), a metatype at 0x51000, and three
    /// type objects whose names are at 0x60000...
    func layOutPython() {
        memory.put(0x50000, at: 0x50000 + 8)
        memory.put(0x50000, at: 0x51000 + 8)
        for (i, (name, typeOfType)) in [("list", 0x50000), ("enum.Color", 0x51000), ("bad name", 0x50000)].enumerated() {
            let typeObject = UInt64(0x52000 + i * 0x1000)
            memory.put(UInt64(typeOfType), at: typeObject + 8)
            memory.put(UInt64(0x60000 + i * 0x100), at: typeObject + 24)
            memory.put(name, at: UInt64(0x60000 + i * 0x100))
        }
    }

    func testPythonObjectsAreNamedByAValidatedObType() {
        layOutPython()
        let namer = BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: true)
        // A plain object: refcount, ob_type.
        XCTAssertEqual(namer.name(BlockHead(address: 0x9000, words: [1, 0x52000, 0])), "list")
        // A GC object: gc_next, gc_prev, refcount, ob_type.
        XCTAssertEqual(namer.name(BlockHead(address: 0x9000, words: [0x9100, 0x9203, 1, 0x53000])), "enum.Color")
        // Behind a pre-header and a GC header.
        XCTAssertEqual(namer.name(BlockHead(address: 0x9000, words: [0, 0, 0x9100, 0x9200, 2, 0x52000])), "list")
        // A type whose name is not an identifier, and a word that is no type.
        XCTAssertNil(namer.name(BlockHead(address: 0x9000, words: [1, 0x54000])))
        XCTAssertNil(namer.name(BlockHead(address: 0x9000, words: [1, 0x60000, 7, 0x60100])))
        // Off for a target that is not CPython.
        XCTAssertNil(BlockTypeNamer(symbols: symbols, memory: memory, swiftRuntime: true, pythonObjects: false).name(BlockHead(address: 0x9000, words: [1, 0x52000])))
    }
}
