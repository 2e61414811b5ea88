import LeakProc
import LeakSymbols

/// The extra reads a type namer makes in the target (a Python type's name,
/// a Swift class's descriptor): `count` bytes at `address`, or nil when they
/// cannot be read. Tests pass memory of their own.
public protocol TargetMemory {
    func read(_ address: UInt64, count: Int) -> [UInt8]?
}

/// Data symbols of the target (vtables, Swift type metadata and descriptors).
public protocol DataSymbolLookup {
    func dataSymbol(at address: UInt64) -> DataSymbol?
}

extension Symbolizer: DataSymbolLookup {}

extension TargetMemory {
    /// The little-endian word at `address`.
    func word(at address: UInt64) -> UInt64? {
        guard let bytes = read(address, count: 8), bytes.count == 8 else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }

    /// A NUL-terminated string of at most `limit` bytes; nil when unreadable
    /// or longer. Reads never cross a page it does not need.
    func cString(at address: UInt64, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count <= limit {
            let pageLeft = Int(4096 - (cursor & 4095))
            guard let chunk = read(cursor, count: min(pageLeft, limit + 1 - bytes.count)), !chunk.isEmpty else { return nil }
            if let nul = chunk.firstIndex(of: 0) { return bytes + chunk[..<nul] }
            bytes += chunk
            cursor += UInt64(chunk.count)
        }
        return nil
    }
}

/// A live process's memory through process_vm_readv: a read of memory that
/// is not mapped fails cleanly (EFAULT) and changes nothing in the target.
public struct ProcessMemory: TargetMemory {
    public let pid: Int32

    public init(pid: Int32) {
        self.pid = pid
    }

    public func read(_ address: UInt64, count: Int) -> [UInt8]? {
        readProcessMemory(pid: pid, at: address, count: count)
    }
}
