/// One classic BPF instruction (struct sock_filter), as seccomp filters are
/// written and as PTRACE_SECCOMP_GET_FILTER returns them.
struct BPFInstruction: Equatable {
    var code: UInt16
    var jt: UInt8
    var jf: UInt8
    var k: UInt32

    init(_ code: UInt16, _ jt: UInt8 = 0, _ jf: UInt8 = 0, _ k: UInt32 = 0) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }

    /// Decodes the kernel's 8-byte little-endian records.
    static func decode(_ bytes: [UInt8]) -> [BPFInstruction] {
        stride(from: 0, to: bytes.count - 7, by: 8).map { i in
            let code = UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
            var k: UInt32 = 0
            for byte in bytes[(i + 4)..<(i + 8)].reversed() { k = k << 8 | UInt32(byte) }
            return BPFInstruction(code, bytes[i + 2], bytes[i + 3], k)
        }
    }
}

/// What a seccomp filter is shown (struct seccomp_data), with the parts we
/// cannot predict left unknown (nil): the instruction pointer always (the
/// call is made from somewhere in the target's libc), and any argument we
/// do not pass ourselves.
struct SeccompInput {
    static let archX86_64: UInt32 = 0xC000_003E // AUDIT_ARCH_X86_64

    var nr: UInt32
    var arch: UInt32 = archX86_64
    var args: [UInt64?] = Array(repeating: nil, count: 6)

    /// The 32-bit word at `offset` in seccomp_data, nil when unknown.
    func word(at offset: UInt32) -> UInt32? {
        switch offset {
        case 0: return nr
        case 4: return arch
        case 8, 12: return nil // instruction_pointer
        case 16..<64 where offset % 4 == 0:
            guard let arg = args[Int((offset - 16) / 8)] else { return nil }
            return offset % 8 == 0 ? UInt32(truncatingIfNeeded: arg) : UInt32(truncatingIfNeeded: arg >> 32)
        default: return nil
        }
    }
}

/// Runs a seccomp filter on partly unknown input. Where a jump depends on
/// an unknown word both ways are followed, so the answer is every value the
/// filter can return for any input that matches the known parts; each value
/// says whether an unknown decided it. Classic BPF only jumps forward, so
/// every path ends; a filter with more paths than `pathLimit` gives one
/// unknown answer.
enum BPFEvaluator {
    /// A value the filter returned; `value` nil when it was computed from
    /// unknown input, `guessed` when an unknown decided a jump on the way.
    struct Outcome: Hashable {
        var value: UInt32?
        var guessed: Bool
    }

    private struct State {
        var pc: Int
        var a: UInt32? = 0
        var x: UInt32? = 0
        var memory: [UInt32?] = Array(repeating: 0, count: 16)
        var guessed = false
    }

    static func run(_ program: [BPFInstruction], _ input: SeccompInput, pathLimit: Int = 20_000) -> Set<Outcome> {
        var outcomes = Set<Outcome>()
        var pending = [State(pc: 0)]
        var steps = 0
        while var state = pending.popLast() {
            steps += 1
            if steps > pathLimit { return [Outcome(value: nil, guessed: true)] }
            // One path, until it returns or forks.
            while true {
                guard state.pc >= 0 && state.pc < program.count else {
                    // The kernel refuses such filters at install time.
                    outcomes.insert(Outcome(value: nil, guessed: state.guessed))
                    break
                }
                let ins = program[state.pc]
                state.pc += 1
                let operand: UInt32? = ins.code & 0x08 == 0 ? ins.k : state.x // BPF_K : BPF_X
                switch ins.code & 0x07 {
                case 0x00, 0x01: // BPF_LD, BPF_LDX
                    let value: UInt32?
                    switch ins.code & 0xe0 {
                    case 0x00: value = ins.k // BPF_IMM
                    case 0x20: value = input.word(at: ins.k) // BPF_ABS
                    case 0x60: value = ins.k < 16 ? state.memory[Int(ins.k)] : nil // BPF_MEM
                    case 0x80: value = 64 // BPF_LEN: sizeof(struct seccomp_data)
                    default: value = nil // not allowed in seccomp filters
                    }
                    if ins.code & 0x07 == 0 { state.a = value } else { state.x = value }
                case 0x02, 0x03: // BPF_ST, BPF_STX
                    if ins.k < 16 { state.memory[Int(ins.k)] = ins.code & 0x07 == 0x02 ? state.a : state.x }
                case 0x04: // BPF_ALU
                    if ins.code & 0xf0 == 0x30 || ins.code & 0xf0 == 0x90, operand == 0 {
                        // Division by a zero X ends the filter with 0 (kill).
                        outcomes.insert(Outcome(value: 0, guessed: state.guessed))
                        state.pc = -1
                        break
                    }
                    state.a = alu(ins.code & 0xf0, state.a, operand)
                case 0x05: // BPF_JMP
                    let op = ins.code & 0xf0
                    if op == 0x00 { // BPF_JA
                        state.pc += Int(ins.k)
                        continue
                    }
                    if let taken = compare(op, state.a, operand) {
                        state.pc += Int(taken ? ins.jt : ins.jf)
                    } else {
                        var other = state
                        other.guessed = true
                        other.pc += Int(ins.jf)
                        pending.append(other)
                        state.guessed = true
                        state.pc += Int(ins.jt)
                    }
                    continue
                case 0x06: // BPF_RET
                    outcomes.insert(Outcome(value: ins.code & 0x18 == 0x10 ? state.a : ins.k, guessed: state.guessed))
                    state.pc = -1
                case 0x07: // BPF_MISC
                    if ins.code & 0xf8 == 0x80 { state.a = state.x } else { state.x = state.a } // TXA : TAX
                default:
                    break
                }
                if state.pc < 0 { break }
            }
        }
        return outcomes
    }

    private static func alu(_ op: UInt16, _ a: UInt32?, _ b: UInt32?) -> UInt32? {
        if op == 0x80 { return a.map { 0 &- $0 } } // BPF_NEG
        // A known zero absorbs the unknown side.
        if op == 0x50 && (a == 0 || b == 0) { return 0 }
        guard let a, let b else { return nil }
        switch op {
        case 0x00: return a &+ b
        case 0x10: return a &- b
        case 0x20: return a &* b
        case 0x30: return a / b
        case 0x40: return a | b
        case 0x50: return a & b
        case 0x60: return b >= 32 ? 0 : a << b
        case 0x70: return b >= 32 ? 0 : a >> b
        case 0x90: return a % b
        case 0xa0: return a ^ b
        default: return nil
        }
    }

    private static func compare(_ op: UInt16, _ a: UInt32?, _ b: UInt32?) -> Bool? {
        // JSET against a known mask tells even from a partly known value.
        if op == 0x40, b == 0 { return false }
        guard let a, let b else { return nil }
        switch op {
        case 0x10: return a == b
        case 0x20: return a > b
        case 0x30: return a >= b
        case 0x40: return a & b != 0
        default: return nil
        }
    }
}
