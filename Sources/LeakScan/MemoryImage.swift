import Glibc
import LeakInject
import LeakProc
import LeakReach

/// The roots and heap of a paused process, copied: every thread's registers
/// and live stack, and every writable mapping but the agent's own.
struct MemoryImage {
    var spans: [MemorySpan] = []
    var copiedBytes: UInt64 = 0
    /// For spans of a module's writable data: the module's file and where
    /// its offset-0 mapping starts, to name the global a root lies in.
    var modules: [Int: (path: String, base: UInt64)] = [:]
    /// Prepared buffers not used yet, by mapping.
    private var buffers: [ClosedRange<UInt64>: [UInt8]] = [:]

    /// Registers are not memory: each thread's get a made-up address in the
    /// non-canonical hole, where no block can be.
    static let registerBase: UInt64 = 0x8000_0000_0000_0000
    /// The System V red zone: a leaf function may keep data just below rsp.
    static let redZone: UInt64 = 128

    /// Buffers for the mappings the copy will probably need, allocated and
    /// faulted in before the pause: for a heap of gigabytes, faulting in the
    /// copy's pages costs more than the copy itself.
    /// Throws, before anything is allocated or stopped, when the writable
    /// memory to copy is more than this machine has free: the copy is the
    /// whole of it (huge sparse reservations included).
    static func prepareBuffers(pid: Int32) throws -> [ClosedRange<UInt64>: [UInt8]] {
        guard case let .success(maps) = ProcDirectory(pid: pid).maps() else { return [:] }
        let memory = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
        defer { if memory >= 0 { close(memory) } }
        let scratch = AgentFootprint.scratchMappings(maps: maps, pid: pid) { address in
            var word: UInt64 = 0
            return pread(memory, &word, 8, off_t(Int64(bitPattern: address))) == 8 ? word : nil
        }
        let wanted = maps.indices.filter { !scratch.contains($0) && holdsReferences(maps[$0]) }
        let total = wanted.reduce(UInt64(0)) { $0 + maps[$1].end - maps[$1].start }
        if let available = availableMemory(), total > available / 10 * 8 {
            throw ScanError("pid \(pid) maps \(total >> 20) MiB of writable memory, more than the \(available >> 20) MiB this machine has free to copy it into; a scan needs a copy of all of it")
        }
        var buffers: [ClosedRange<UInt64>: [UInt8]] = [:]
        for index in wanted where maps[index].end - maps[index].start >= 1 << 20 {
            let line = maps[index]
            buffers[line.start...line.end] = FaultedBuffer.make(count: Int(line.end - line.start))
        }
        return buffers
    }

    /// MemAvailable from /proc/meminfo, in bytes.
    static func availableMemory() -> UInt64? {
        guard case let .success(text) = ProcFiles.read("/proc/meminfo"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
              let kib = UInt64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kib << 10
    }

    /// Takes the buffers (moved, so each is written in place, never copied).
    /// `blocks`: the known blocks, whose bytes are copied even where they lie
    /// in a mapping of the agent's (the kernel merges neighbouring anonymous
    /// mappings of the same kind, so a program's memory may share one).
    static func copy(from paused: PausedProcess, agentThread: Int32?, blocks: [KnownBlock],
                     buffers: inout [ClosedRange<UInt64>: [UInt8]]) throws -> MemoryImage {
        let maps: [MapsLine]
        switch ProcDirectory(pid: paused.pid).maps() {
        case let .success(lines): maps = lines
        case let .failure(error): throw ScanError("cannot read /proc/\(paused.pid)/maps: \(error)")
        }
        var image = MemoryImage()
        image.buffers = buffers
        buffers = [:]
        let scratch = AgentFootprint.scratchMappings(maps: maps, pid: paused.pid) { address in
            let copy = paused.read(address: address, length: 8)
            return copy.unreadable == 0 ? copy.bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } : nil
        }
        var skipped = scratch
        // Ranks (see `MemorySpan.rank`): a module's globals name the holder
        // best, then thread stacks, then memory the tracer does not know.
        var threadStacks: [(thread: Int, mapping: Int?)] = []
        for (i, thread) in paused.threads.enumerated() {
            let stack = maps.firstIndex { $0.start <= thread.stackPointer && thread.stackPointer < $0.end }
            if let stack { skipped.insert(stack) }
            if thread.tid != agentThread { threadStacks.append((i, stack)) }
        }
        let mappings = maps.indices.filter { !skipped.contains($0) && Self.holdsReferences(maps[$0]) }
        for index in mappings {
            guard let module = Self.module(of: index, in: maps) else { continue }
            image.modules[image.spans.count] = module
            image.add(paused, from: maps[index].start, to: maps[index].end, role: .mapping, name: Self.name(of: index, in: maps), rank: 0)
        }
        for (i, stack) in threadStacks {
            let thread = paused.threads[i]
            image.spans.append(MemorySpan(start: registerBase + UInt64(i) << 20, bytes: thread.registerBytes,
                                          role: .thread, name: "thread \(thread.tid) registers", rank: 1))
            if let stack {
                let from = max(maps[stack].start, (thread.stackPointer &- redZone) & ~7)
                image.add(paused, from: from, to: maps[stack].end, role: .thread, name: "thread \(thread.tid) stack", rank: 1)
            }
        }
        // In the agent's mappings nothing is a root, but a program block's bytes are its own.
        let scratchRanges = scratch.map { maps[$0].start..<maps[$0].end }
        for block in blocks where scratchRanges.contains(where: { $0.contains(block.address) }) {
            image.add(paused, from: block.address, to: block.address + max(block.size, 1), role: .mapping,
                      name: "anonymous memory", rank: 2)
        }
        for index in mappings where Self.module(of: index, in: maps) == nil {
            image.add(paused, from: maps[index].start, to: maps[index].end, role: .mapping, name: Self.name(of: index, in: maps), rank: 2)
        }
        return image
    }

    private mutating func add(_ paused: PausedProcess, from: UInt64, to: UInt64, role: MemorySpan.Role, name: String, rank: Int) {
        guard to > from else { return }
        if var bytes = buffers.removeValue(forKey: from...to) {
            let unreadable = bytes.withUnsafeMutableBytes { paused.read(address: from, into: $0) }
            copiedBytes += UInt64(bytes.count - unreadable)
            spans.append(MemorySpan(start: from, bytes: bytes, role: role, name: name, rank: rank))
            return
        }
        let copy = paused.read(address: from, length: Int(to - from))
        copiedBytes += UInt64(copy.bytes.count - copy.unreadable)
        spans.append(MemorySpan(start: from, bytes: copy.bytes, role: role, name: name, rank: rank))
    }

    /// Writable, readable memory of the program; not the kernel's pages, not
    /// device memory (reading it may have effects), not the agent's library.
    static func holdsReferences(_ line: MapsLine) -> Bool {
        guard line.permissions.hasPrefix("rw") else { return false }
        if line.path == "[vvar]" || line.path == "[vsyscall]" || line.path == "[vvar_vclock]" { return false }
        if line.path.hasPrefix("/dev/") && !line.path.hasPrefix("/dev/shm/") && !line.path.hasPrefix("/dev/zero") { return false }
        return !AgentFootprint.isAgentLibrary(line)
    }

    /// "[heap]", "libfoo.so .data", "libfoo.so .bss" (the anonymous mapping
    /// right after a module's writable file mapping), "anonymous".
    static func name(of index: Int, in maps: [MapsLine]) -> String {
        let line = maps[index]
        if line.path.hasPrefix("[") { return line.path }
        if !line.path.isEmpty { return "\(baseName(line.path)) .data" }
        if index > 0, !maps[index - 1].path.isEmpty, !maps[index - 1].path.hasPrefix("["),
           maps[index - 1].end == line.start, maps[index - 1].permissions.hasPrefix("rw") {
            return "\(baseName(maps[index - 1].path)) .bss"
        }
        return "anonymous memory"
    }

    /// The module whose .data (its file mapping) or .bss (the anonymous
    /// mapping right after) this is, with its load base.
    static func module(of index: Int, in maps: [MapsLine]) -> (path: String, base: UInt64)? {
        var owner = maps[index]
        if owner.path.isEmpty, index > 0, maps[index - 1].end == owner.start { owner = maps[index - 1] }
        guard owner.path.hasPrefix("/"), owner.inode != 0,
              let first = maps.first(where: { $0.path == owner.path && $0.offset == 0 }) else { return nil }
        return (owner.path, first.start)
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// Why a scan could not be made, in one line.
public struct ScanError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Memory for a copy, faulted in ahead (in 2 MiB pages where the kernel
/// allows), so the copy during the pause only moves bytes.
enum FaultedBuffer {
    static func make(count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = UInt(bitPattern: buffer.baseAddress)
            let huge: UInt = 2 << 20
            let first = (base + huge - 1) & ~(huge - 1)
            let last = (base + UInt(count)) & ~(huge - 1)
            if last > first {
                _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), 14 /* MADV_HUGEPAGE */)
            }
            UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            initialized = count
        }
    }
}
