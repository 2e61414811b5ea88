import LeakModel
import LeakProc

/// Turns the agent's Python frame entries (code object address, last
/// instruction) into file, qualified name and line by reading the code
/// object from the live target. Code objects are cached by address, and
/// each use of the cache first checks that the object there is still the
/// one read: a freed code object's block goes to the next object of its
/// size, often another code object (exec, compile, a module's code once it
/// has run), whose lines the cache would otherwise take from the first.
public final class PythonFrameResolver {
    /// Bit 63 marks a Python entry in a stack (SL_PY_FRAME_TAG in swiftleak_protocol.h).
    static let tag: UInt64 = 1 << 63
    static let lastInstructionShift: UInt64 = 47
    static let codeMask: UInt64 = (1 << 47) - 1

    private struct Code {
        var identity: Identity
        var filename: String
        var qualname: String
        var firstLine: Int
        var table: [UInt8]
    }

    /// What tells one code object at an address from the next: the objects
    /// it points to and its first line, read in one go. Not its header,
    /// which the allocator overwrites when the block is freed (a freed code
    /// object still reads right, and entries captured before its death
    /// come here after it).
    private struct Identity: Equatable {
        var filename: UInt64
        var qualname: UInt64
        var linetable: UInt64
        var firstLine: Int32
    }

    private let pid: Int32
    private let layout: CodeObjectLayout
    private var codes: [UInt64: Code] = [:]

    /// Whether a stack entry is a Python frame rather than a return address.
    public static func isPythonEntry(_ ip: UInt64) -> Bool { ip & tag != 0 }

    /// nil when the target carries no CPython whose layout is known.
    public init?(pid: Int32) {
        guard let minor = Self.interpreterMinor(pid: pid), let layout = CodeObjectLayout.forMinor(minor) else { return nil }
        self.pid = pid
        self.layout = layout
    }

    /// The CPython 3 minor version mapped in the target (libpython3.X.so, or
    /// an executable python3.X carrying the interpreter); nil if none.
    public static func interpreterMinor(pid: Int32) -> Int? {
        guard case let .success(text) = ProcFiles.read("/proc/\(pid)/maps") else { return nil }
        for line in MapsLine.parse(text) {
            let file = line.livePath.split(separator: "/").last.map(String.init) ?? ""
            for prefix in ["libpython3.", "python3."] where file.hasPrefix(prefix) {
                let digits = file.dropFirst(prefix.count).prefix { $0.isNumber }
                let after = file.dropFirst(prefix.count + digits.count)
                // "3.13t" is the free-threaded build: another object layout.
                guard let minor = Int(digits), after.isEmpty || after.hasPrefix(".") else { continue }
                return minor
            }
        }
        return nil
    }

    /// One line for a person when the target runs a CPython whose frames
    /// are not read (its stacks stay native); nil otherwise.
    public static func unsupportedNote(pid: Int32) -> String? {
        guard let minor = interpreterMinor(pid: pid), CodeObjectLayout.forMinor(minor) == nil else { return nil }
        return "pid \(pid) runs CPython 3.\(minor): its stacks show the interpreter's native frames, not Python lines (those are read for 3.11 to 3.13)"
    }

    public func frame(for entry: UInt64) -> Frame {
        let address = entry & Self.codeMask
        let lastInstruction = Int((entry & ~Self.tag) >> Self.lastInstructionShift) - 1
        let code: Code?
        let identity = readIdentity(at: address)
        if let known = codes[address], identity == nil || identity == known.identity {
            code = known   // unchanged, or unreadable now (the target is gone): nothing replaced it
        } else if let fresh = identity.flatMap(readCode) {
            code = fresh
            codes[address] = fresh
        } else {
            code = codes[address]   // no code object there now: the entry was captured before it died
        }
        guard let code else {
            return Frame(function: "<python code 0x\(String(address, radix: 16))>", module: PythonFrames.moduleName, address: entry)
        }
        let line = LocationTable.line(table: code.table, firstLine: code.firstLine, lastInstruction: lastInstruction) ?? 0
        return Frame(function: code.qualname, file: code.filename, line: UInt32(clamping: max(line, 0)),
                     module: PythonFrames.moduleName, address: entry)
    }

    /// The identity fields of the code object at `address`, from one read
    /// of the span that holds them; nil if unreadable or a pointer is null.
    private func readIdentity(at address: UInt64) -> Identity? {
        let fields = [layout.filename, layout.qualname, layout.linetable, layout.firstLine]
        let start = fields.min()!, end = fields.max()! + 8
        guard let span = read(address + start, count: Int(end - start)) else { return nil }
        func field<T: FixedWidthInteger>(_ offset: UInt64, as _: T.Type) -> T {
            let at = Int(offset - start)
            return load(Array(span[at..<at + MemoryLayout<T>.size]))
        }
        let identity = Identity(filename: UInt64(littleEndian: field(layout.filename, as: UInt64.self)),
                                qualname: UInt64(littleEndian: field(layout.qualname, as: UInt64.self)),
                                linetable: UInt64(littleEndian: field(layout.linetable, as: UInt64.self)),
                                firstLine: Int32(littleEndian: field(layout.firstLine, as: Int32.self)))
        guard identity.filename != 0, identity.qualname != 0, identity.linetable != 0 else { return nil }
        return identity
    }

    private func readCode(_ identity: Identity) -> Code? {
        guard let filename = readString(identity.filename),
              let qualname = readString(identity.qualname),
              let tableSize = read(identity.linetable + CodeObjectLayout.bytesSize, count: 8).map({ Int(Int64(littleEndian: load($0))) }),
              tableSize >= 0, tableSize < 1 << 24,
              let table = tableSize == 0 ? [] : read(identity.linetable + CodeObjectLayout.bytesData, count: tableSize)
        else { return nil }
        return Code(identity: identity, filename: filename, qualname: qualname, firstLine: Int(identity.firstLine), table: table)
    }

    /// A compact str object's text (every name and path a code object holds is one).
    private func readString(_ object: UInt64) -> String? {
        guard let header = read(object, count: Int(CodeObjectLayout.unicodeState) + 4) else { return nil }
        let length = Int(Int64(littleEndian: load(Array(header[16..<24]))))
        let state = UInt32(littleEndian: load(Array(header[32..<36])))
        let kind = Int(state >> 2) & 7, compact = state >> 5 & 1 == 1, ascii = state >> 6 & 1 == 1
        guard compact, length >= 0, length < 1 << 16, [1, 2, 4].contains(kind) else { return nil }
        if ascii {
            return read(object + layout.asciiHeader, count: length).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let bytes = read(object + layout.compactHeader, count: length * kind) else { return nil }
        var scalars = String.UnicodeScalarView()
        for i in 0..<length {
            var value: UInt32 = 0
            for b in 0..<kind { value |= UInt32(bytes[i * kind + b]) << (8 * UInt32(b)) }
            scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
        }
        return String(scalars)
    }

    private func read(_ address: UInt64, count: Int) -> [UInt8]? {
        readProcessMemory(pid: pid, at: address, count: count)
    }

    private func load<T: FixedWidthInteger>(_ bytes: [UInt8]) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }
}
