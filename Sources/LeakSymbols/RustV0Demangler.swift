/// Demangles Rust's v0 symbols (`_R...`, RFC 2603; the grammar is the
/// "v0 Symbol Format" chapter of the rustc book) into the form rustc's own
/// tools print with `{:#}`: paths without crate disambiguators, `<T>::f` for
/// inherent impls, `<T as Trait>::f` for trait impls, `::<...>` generic
/// arguments, `{closure#N}` / `{shim:NAME#N}` for unnamed items, no vendor
/// suffix.
///
/// One pass over the bytes that prints as it parses. Backrefs jump back to
/// an earlier offset and print what is there again; parsing without printing
/// measures the parts the demangled form leaves out (impl paths, the
/// instantiating crate). Anything outside the grammar, nesting deeper than
/// `maximumDepth` or output longer than `maximumOutput` makes the whole
/// symbol undemanglable (nil) rather than half printed.
struct RustV0Demangler {
    /// Deep enough for any symbol rustc emits (the deepest in the standard
    /// library nests about 40 levels), shallow enough for the thread's stack.
    static let maximumDepth = 300
    /// Backrefs can print a node many times: a crafted symbol can ask for
    /// exponentially long output. The longest real names are a few KiB.
    static let maximumOutput = 1 << 16

    private struct Invalid: Error {}

    /// Where a path is printed: in a value, generic arguments need `::<`.
    private enum Context { case value, type }

    private let bytes: [UInt8]
    /// Offset of the grammar's first byte (after `_R`): backrefs count from it.
    private let start: Int
    private var position: Int
    private var output: [UInt8] = []
    private var printing = true
    private var outputTooLong = false
    private var depth = 0
    /// Higher-ranked lifetimes bound by the enclosing `for<...>` binders.
    private var boundLifetimes = 0

    /// The demangled name of a `_R` symbol, or nil when it is not one.
    static func demangle(_ symbol: String) -> String? {
        let bytes = Array(symbol.utf8)
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "_"), bytes[1] == UInt8(ascii: "R") else { return nil }
        var demangler = RustV0Demangler(bytes: bytes, start: 2)
        return try? demangler.symbol()
    }

    private init(bytes: [UInt8], start: Int) {
        self.bytes = bytes
        self.start = start
        self.position = start
    }

    // MARK: symbol-name

    /// symbol-name → `_R` decimal-number? path instantiating-crate? vendor-specific-suffix?
    private mutating func symbol() throws -> String {
        // An encoding version: none is defined yet, so a number means a
        // format this demangler does not know.
        if let next = peek(), isDigit(next) { throw Invalid() }
        try path(.value)
        if let next = peek(), isUpper(next) {
            // The instantiating crate is not part of the name.
            try silently { try $0.path(.value) }
        }
        // A vendor suffix (LLVM's ".llvm.<hash>", ".cold") names a part or
        // a copy of the same function: left out, so they group together.
        if let next = peek(), next != UInt8(ascii: "."), next != UInt8(ascii: "$") { throw Invalid() }
        guard !outputTooLong else { throw Invalid() }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: paths

    /// path → crate-root | inherent-impl | trait-impl | trait-definition | nested-path | generic-args | backref.
    /// With `leaveOpen`, generic arguments at the end are not closed (for a
    /// dyn trait's associated type bindings); the result says whether they were.
    @discardableResult
    private mutating func path(_ context: Context, leaveOpen: Bool = false) throws -> Bool {
        try enter()
        defer { depth -= 1 }
        let tag = try next()
        switch tag {
        case UInt8(ascii: "C"):
            let (name, _) = try identifier()
            print(name)
        case UInt8(ascii: "M"), UInt8(ascii: "X"), UInt8(ascii: "Y"):
            // inherent-impl → `M` impl-path type: `<Type>`;
            // trait-impl → `X` impl-path type path, trait-definition → `Y` type path: `<Type as Trait>`.
            if tag != UInt8(ascii: "Y") { try implPath() }
            print("<")
            try type()
            if tag != UInt8(ascii: "M") {
                print(" as ")
                try path(.type)
            }
            print(">")
        case UInt8(ascii: "N"):
            let namespace = try next()
            guard isLower(namespace) || isUpper(namespace) else { throw Invalid() }
            try path(context)
            let (name, disambiguator) = try identifier()
            if isUpper(namespace) {
                print("::{")
                switch namespace {
                case UInt8(ascii: "C"): print("closure")
                case UInt8(ascii: "S"): print("shim")
                default: print([namespace])
                }
                if !name.isEmpty {
                    print(":")
                    print(name)
                }
                print("#")
                print(Array(String(disambiguator).utf8))
                print("}")
            } else if !name.isEmpty {
                // Lowercase namespaces are the compiler's own: never shown.
                print("::")
                print(name)
            }
        case UInt8(ascii: "I"):
            try path(context)
            if context == .value { print("::") }
            print("<")
            var first = true
            while !consume("E") {
                if !first { print(", ") }
                first = false
                try genericArgument()
            }
            if leaveOpen { return true }
            print(">")
        case UInt8(ascii: "B"):
            var open = false
            try backref { open = try $0.path(context, leaveOpen: leaveOpen) }
            return open
        default:
            throw Invalid()
        }
        return false
    }

    /// impl-path → disambiguator? path: says where the impl block is, which
    /// the demangled form does not show.
    private mutating func implPath() throws {
        try silently {
            _ = try $0.disambiguator()
            try $0.path(.value)
        }
    }

    /// generic-arg → lifetime | type | `K` const
    private mutating func genericArgument() throws {
        if consume("L") {
            try lifetime(try base62())
        } else if consume("K") {
            try constant()
        } else {
            try type()
        }
    }

    // MARK: types

    /// type → basic-type | array | slice | tuple | references | pointers | fn | dyn | path | backref
    private mutating func type() throws {
        try enter()
        defer { depth -= 1 }
        let tag = try next()
        if let basic = Self.basicType(tag) {
            print(basic)
            return
        }
        switch tag {
        case UInt8(ascii: "A"):
            print("[")
            try type()
            print("; ")
            try constant()
            print("]")
        case UInt8(ascii: "S"):
            print("[")
            try type()
            print("]")
        case UInt8(ascii: "T"):
            print("(")
            var count = 0
            while !consume("E") {
                if count > 0 { print(", ") }
                try type()
                count += 1
            }
            if count == 1 { print(",") }
            print(")")
        case UInt8(ascii: "R"), UInt8(ascii: "Q"):
            print("&")
            if consume("L") {
                let index = try base62()
                if index != 0 {
                    try lifetime(index)
                    print(" ")
                }
            }
            if tag == UInt8(ascii: "Q") { print("mut ") }
            try type()
        case UInt8(ascii: "P"):
            print("*const ")
            try type()
        case UInt8(ascii: "O"):
            print("*mut ")
            try type()
        case UInt8(ascii: "F"):
            try functionSignature()
        case UInt8(ascii: "D"):
            try dynTraitType()
        case UInt8(ascii: "B"):
            try backref { try $0.type() }
        default:
            position -= 1
            try path(.type)
        }
    }

    /// The one-letter basic types; `p` is the placeholder `_`.
    private static func basicType(_ tag: UInt8) -> String? {
        switch tag {
        case UInt8(ascii: "a"): return "i8"
        case UInt8(ascii: "b"): return "bool"
        case UInt8(ascii: "c"): return "char"
        case UInt8(ascii: "d"): return "f64"
        case UInt8(ascii: "e"): return "str"
        case UInt8(ascii: "f"): return "f32"
        case UInt8(ascii: "h"): return "u8"
        case UInt8(ascii: "i"): return "isize"
        case UInt8(ascii: "j"): return "usize"
        case UInt8(ascii: "l"): return "i32"
        case UInt8(ascii: "m"): return "u32"
        case UInt8(ascii: "n"): return "i128"
        case UInt8(ascii: "o"): return "u128"
        case UInt8(ascii: "s"): return "i16"
        case UInt8(ascii: "t"): return "u16"
        case UInt8(ascii: "u"): return "()"
        case UInt8(ascii: "v"): return "..."
        case UInt8(ascii: "x"): return "i64"
        case UInt8(ascii: "y"): return "u64"
        case UInt8(ascii: "z"): return "!"
        case UInt8(ascii: "p"): return "_"
        default: return nil
        }
    }

    /// fn-sig → binder? `U`? (`K` abi)? {type} `E` type
    private mutating func functionSignature() throws {
        let saved = boundLifetimes
        defer { boundLifetimes = saved }
        try binder()
        if consume("U") { print("unsafe ") }
        if consume("K") {
            print("extern \"")
            if consume("C") {
                print("C")
            } else {
                // abi → undisambiguated-identifier, with `-` written as `_`.
                let (abi, punycode) = try undisambiguatedIdentifier()
                guard !punycode else { throw Invalid() }
                print(abi.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 })
            }
            print("\" ")
        }
        print("fn(")
        var first = true
        while !consume("E") {
            if !first { print(", ") }
            first = false
            try type()
        }
        print(")")
        if !consume("u") {
            print(" -> ")
            try type()
        }
    }

    /// dyn-trait-type → `D` dyn-bounds lifetime; dyn-bounds → binder? {dyn-trait} `E`
    private mutating func dynTraitType() throws {
        let saved = boundLifetimes
        print("dyn ")
        try binder()
        var first = true
        while !consume("E") {
            if !first { print(" + ") }
            first = false
            // dyn-trait → path {`p` undisambiguated-identifier type}: the
            // bindings join the trait's own generic arguments, `Trait<A, Item = B>`.
            var open = try path(.type, leaveOpen: true)
            while consume("p") {
                print(open ? ", " : "<")
                open = true
                let (name, punycode) = try undisambiguatedIdentifier()
                print(punycode ? Self.decodedPunycode(name) : name)
                print(" = ")
                try type()
            }
            if open { print(">") }
        }
        boundLifetimes = saved
        guard consume("L") else { throw Invalid() }
        let index = try base62()
        if index != 0 {
            print(" + ")
            try lifetime(index)
        }
    }

    /// binder → `G` base-62-number: `for<'a, ...> `, naming the new lifetimes
    /// after those already bound.
    private mutating func binder() throws {
        guard consume("G") else { return }
        let count = try base62() &+ 1
        guard count > 0, count <= 1000 else { throw Invalid() }
        print("for<")
        for index in 0..<count {
            if index > 0 { print(", ") }
            printLifetime(level: boundLifetimes + Int(index))
        }
        print("> ")
        boundLifetimes += Int(count)
    }

    /// lifetime → `L` base-62-number (the `L` already read): 0 is erased
    /// (`'_`), others are de Bruijn indices into the enclosing binders.
    private mutating func lifetime(_ index: UInt64) throws {
        if index == 0 {
            print("'_")
            return
        }
        guard index <= UInt64(boundLifetimes) else { throw Invalid() }
        printLifetime(level: boundLifetimes - Int(index))
    }

    private mutating func printLifetime(level: Int) {
        if level < 26 {
            print([UInt8(ascii: "'"), UInt8(ascii: "a") + UInt8(level)])
        } else {
            print("'_")
            print(Array(String(level).utf8))
        }
    }

    // MARK: consts

    /// const → type const-data | `p` | backref, for the types a const generic
    /// can have today: integers, bool and char.
    private mutating func constant() throws {
        try enter()
        defer { depth -= 1 }
        if consume("B") {
            try backref { try $0.constant() }
            return
        }
        let tag = try next()
        switch tag {
        case UInt8(ascii: "p"):
            print("_")
        case UInt8(ascii: "h"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "y"), UInt8(ascii: "o"), UInt8(ascii: "j"):
            try printInteger(hexDigits())
        case UInt8(ascii: "a"), UInt8(ascii: "s"), UInt8(ascii: "l"), UInt8(ascii: "x"), UInt8(ascii: "n"), UInt8(ascii: "i"):
            if consume("n") { print("-") }
            try printInteger(hexDigits())
        case UInt8(ascii: "b"):
            switch try hexDigits() {
            case [UInt8(ascii: "0")]: print("false")
            case [UInt8(ascii: "1")]: print("true")
            default: throw Invalid()
            }
        case UInt8(ascii: "c"):
            let digits = try hexDigits()
            guard digits.count <= 8, let value = UInt32(String(decoding: digits, as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(value) else { throw Invalid() }
            print(Self.quoted(scalar))
        default:
            throw Invalid()
        }
    }

    /// const-data's digits up to `_` (the `_` consumed).
    private mutating func hexDigits() throws -> [UInt8] {
        var digits: [UInt8] = []
        while true {
            let byte = try next()
            if byte == UInt8(ascii: "_") { break }
            guard isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) else { throw Invalid() }
            digits.append(byte)
        }
        return digits
    }

    /// Decimal when it fits in 64 bits, hexadecimal (`0x...`) beyond.
    private mutating func printInteger(_ digits: [UInt8]) throws {
        let significant = digits.drop { $0 == UInt8(ascii: "0") }
        if significant.isEmpty {
            print("0")
        } else if significant.count <= 16, let value = UInt64(String(decoding: significant, as: UTF8.self), radix: 16) {
            print(Array(String(value).utf8))
        } else {
            print("0x")
            print(Array(significant))
        }
    }

    /// A char constant as Rust writes it.
    private static func quoted(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\t": return "'\\t'"
        case "\r": return "'\\r'"
        case "\n": return "'\\n'"
        case "\\": return "'\\\\'"
        case "'": return "'\\''"
        default:
            if scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7f { return "'\(scalar)'" }
            return "'\\u{\(String(scalar.value, radix: 16))}'"
        }
    }

    // MARK: identifiers and numbers

    /// identifier → disambiguator? undisambiguated-identifier; the name
    /// (Punycode decoded) and the disambiguator's value.
    private mutating func identifier() throws -> ([UInt8], UInt64) {
        let disambiguator = try disambiguator()
        let (name, punycode) = try undisambiguatedIdentifier()
        return (punycode ? Self.decodedPunycode(name) : name, disambiguator)
    }

    /// disambiguator → `s` base-62-number, stored minus one: absent is 0.
    private mutating func disambiguator() throws -> UInt64 {
        guard consume("s") else { return 0 }
        let value = try base62()
        guard value < UInt64.max else { throw Invalid() }
        return value + 1
    }

    /// undisambiguated-identifier → `u`? decimal-number `_`? bytes
    private mutating func undisambiguatedIdentifier() throws -> ([UInt8], punycode: Bool) {
        let punycode = consume("u")
        let length = try decimal()
        _ = consume("_")
        guard length <= UInt64(bytes.count - position) else { throw Invalid() }
        let end = position + Int(length)
        defer { position = end }
        return (Array(bytes[position..<end]), punycode)
    }

    /// RFC 2603's Punycode, `_` in place of the `-` delimiter; shown as
    /// `punycode{...}` when it does not decode.
    private static func decodedPunycode(_ encoded: [UInt8]) -> [UInt8] {
        if let decoded = Punycode.decode(encoded, delimiter: UInt8(ascii: "_")) { return Array(decoded.utf8) }
        return Array("punycode{".utf8) + encoded + [UInt8(ascii: "}")]
    }

    /// decimal-number → `0` | non-zero-digit {digit}
    private mutating func decimal() throws -> UInt64 {
        let first = try next()
        guard isDigit(first) else { throw Invalid() }
        var value = UInt64(first - UInt8(ascii: "0"))
        if value == 0 { return 0 }
        while let byte = peek(), isDigit(byte) {
            position += 1
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw Invalid() }
            value = sum
        }
        return value
    }

    /// base-62-number → {digit | lower | upper} `_`; `_` alone is 0,
    /// otherwise the digits' value plus one.
    private mutating func base62() throws -> UInt64 {
        if consume("_") { return 0 }
        var value: UInt64 = 0
        while true {
            let byte = try next()
            if byte == UInt8(ascii: "_") { break }
            let digit: UInt64
            if isDigit(byte) {
                digit = UInt64(byte - UInt8(ascii: "0"))
            } else if isLower(byte) {
                digit = 10 + UInt64(byte - UInt8(ascii: "a"))
            } else if isUpper(byte) {
                digit = 36 + UInt64(byte - UInt8(ascii: "A"))
            } else {
                throw Invalid()
            }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 62)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw Invalid() }
            value = sum
        }
        guard value < UInt64.max else { throw Invalid() }
        return value + 1
    }

    // MARK: machinery

    /// backref → `B` base-62-number (the `B` already read): runs `body` at
    /// the earlier offset, then continues after the backref. Not followed
    /// when nothing is printed: its length is known without it.
    private mutating func backref(_ body: (inout RustV0Demangler) throws -> Void) throws {
        let backrefStart = position - 1
        let offset = try base62()
        guard offset < UInt64(backrefStart - start) else { throw Invalid() }
        guard printing else { return }
        // Each backref can double the output: stop following them once it is too long.
        guard !outputTooLong else { throw Invalid() }
        let resume = position
        position = start + Int(offset)
        try enter()
        try body(&self)
        depth -= 1
        position = resume
    }

    /// Runs `body` parsing without printing.
    private mutating func silently(_ body: (inout RustV0Demangler) throws -> Void) throws {
        let saved = printing
        printing = false
        defer { printing = saved }
        try body(&self)
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw Invalid() }
    }

    private mutating func print(_ text: String) {
        print(Array(text.utf8))
    }

    private mutating func print<Bytes: Collection>(_ text: Bytes) where Bytes.Element == UInt8 {
        guard printing, !outputTooLong else { return }
        output.append(contentsOf: text)
        if output.count > Self.maximumOutput { outputTooLong = true }
    }

    private func peek() -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    private mutating func next() throws -> UInt8 {
        guard position < bytes.count else { throw Invalid() }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func consume(_ tag: Unicode.Scalar) -> Bool {
        guard peek() == UInt8(ascii: tag) else { return false }
        position += 1
        return true
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
}
