import CElfutils

/// The inline levels at one address, innermost first: the code the
/// instruction belongs to, then each function it was inlined into, up to
/// the real (out-of-line) function. Read from DWARF's
/// DW_TAG_inlined_subroutine scopes: each one's call_file/call_line is the
/// line in the next level out that the inlined code stands for.
struct InlineChain {
    /// One level; `name` is the DWARF linkage name (mangled) when there is
    /// one, else the plain name; nil for the outermost level when DWARF had
    /// none (the symbol table names it).
    struct Level: Equatable {
        var name: String?
        var file: String?
        var line: UInt32
        var isInlined: Bool
    }

    /// Swift's file name for code without a source line of its own (the
    /// line table may put a directory before it: "//<compiler-generated>").
    static let compilerGenerated = "<compiler-generated>"

    private(set) var levels: [Level] = []

    /// `unit` holds `address` (a DWARF address, bias removed), and so does
    /// `function` (its subprogram) unless nil: then the line table alone
    /// gives the one level.
    init(unit: Dwarf_Die, function: Dwarf_Die?, address: Dwarf_Addr) {
        var unit = unit
        var (file, line) = Self.lineTableRow(unit: &unit, address: address)
        var files: OpaquePointer?
        var haveFiles = false
        let scopes = function.map { Self.enclosingScopes(function: $0, address: address) } ?? []
        for var scope in scopes {
            let tag = Int(dwarf_tag(&scope))
            if tag == DW_TAG_subprogram {
                levels.append(Level(name: Self.linkageName(of: &scope), file: file, line: line, isInlined: false))
                break
            }
            guard tag == DW_TAG_inlined_subroutine else { continue }
            levels.append(Level(name: Self.linkageName(of: &scope), file: file, line: line, isInlined: true))
            if !haveFiles {
                haveFiles = true
                if dwarf_getsrcfiles(&unit, &files, nil) != 0 { files = nil }
            }
            (file, line) = Self.callSite(of: &scope, files: files)
        }
        // Outside any function's scope (or no scope DIEs): the line table alone.
        if levels.isEmpty || levels.last?.isInlined == true {
            levels.append(Level(name: nil, file: file, line: line, isInlined: false))
        }
        Self.giveCallSiteLines(&levels)
    }

    /// A level without a line (line 0 or `<compiler-generated>`: code the
    /// compiler made, often the standard library's) takes the line of the
    /// call site that inlined it, that is the next level's, so an optimized
    /// build still names the program's line. The outermost level keeps what
    /// it has: nothing inlined it.
    static func giveCallSiteLines(_ levels: inout [Level]) {
        guard levels.count > 1 else { return }
        for index in stride(from: levels.count - 2, through: 0, by: -1) where !hasLine(levels[index]) {
            levels[index].file = levels[index + 1].file
            levels[index].line = levels[index + 1].line
        }
    }

    static func hasLine(_ level: Level) -> Bool {
        guard level.line != 0, let file = level.file else { return false }
        return !file.hasSuffix(compilerGenerated)
    }

    /// The DIEs enclosing the address, innermost first: each inlined
    /// subroutine inside the one it was inlined into, down from the
    /// function, which comes last. Found by descending through the DIEs
    /// whose ranges hold the address. (`dwarf_getscopes` continues past an
    /// inlined subroutine with its abstract definition's lexical scopes,
    /// skipping the callers.)
    private static func enclosingScopes(function: Dwarf_Die, address: Dwarf_Addr) -> [Dwarf_Die] {
        var path = [function]
        var parent = function
        descending: while path.count < 256 {
            var child = Dwarf_Die()
            guard dwarf_child(&parent, &child) == 0 else { break }
            while dwarf_haspc(&child, address) != 1 {
                var sibling = Dwarf_Die()
                guard dwarf_siblingof(&child, &sibling) == 0 else { break descending }
                child = sibling
            }
            path.append(child)
            parent = child
        }
        return path.reversed()
    }

    /// The address of the first line-table row after `address` (a DWARF
    /// address) with a line of the program, or nil. A function's entry is
    /// its prologue, which Swift's line table gives no line (line 0, or
    /// `<compiler-generated>`); its body starts at the next row with one.
    static func firstLineAddress(unit: inout Dwarf_Die, after address: Dwarf_Addr) -> Dwarf_Addr? {
        var lines: OpaquePointer?
        var count = 0
        guard dwarf_getsrclines(&unit, &lines, &count) == 0, let lines else { return nil }
        var best: Dwarf_Addr?
        for index in 0..<count {
            guard let row = dwarf_onesrcline(lines, index) else { continue }
            var rowAddress: Dwarf_Addr = 0, number: Int32 = 0
            guard dwarf_lineaddr(row, &rowAddress) == 0, rowAddress > address, best.map({ rowAddress < $0 }) ?? true,
                  dwarf_lineno(row, &number) == 0, number > 0,
                  dwarf_linesrc(row, nil, nil).map({ !String(cString: $0).hasSuffix(compilerGenerated) }) ?? false
            else { continue }
            best = rowAddress
        }
        return best
    }

    private static func lineTableRow(unit: inout Dwarf_Die, address: Dwarf_Addr) -> (String?, UInt32) {
        guard let row = dwarf_getsrc_die(&unit, address) else { return (nil, 0) }
        var number: Int32 = 0
        guard dwarf_lineno(row, &number) == 0 else { return (nil, 0) }
        return (dwarf_linesrc(row, nil, nil).map { String(cString: $0) }, UInt32(clamping: number))
    }

    private static func callSite(of scope: UnsafeMutablePointer<Dwarf_Die>, files: OpaquePointer?) -> (String?, UInt32) {
        var storage = Dwarf_Attribute()
        var fileIndex: Dwarf_Word = 0, line: Dwarf_Word = 0
        var file: String?
        if let files, dwarf_formudata(dwarf_attr(scope, UInt32(DW_AT_call_file), &storage), &fileIndex) == 0 {
            file = dwarf_filesrc(files, Int(fileIndex), nil, nil).map { String(cString: $0) }
        }
        if dwarf_formudata(dwarf_attr(scope, UInt32(DW_AT_call_line), &storage), &line) != 0 { line = 0 }
        return (file, UInt32(clamping: line))
    }

    /// Prefers the linkage (mangled) name, like the symbol table, so that the
    /// demangler sees one kind of name (DW_AT_name lacks the C++ parameters
    /// and the Swift module and type); follows abstract_origin and specification.
    static func linkageName(of die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        for attribute in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name] {
            var storage = Dwarf_Attribute()
            if let attr = dwarf_attr_integrate(die, UInt32(attribute), &storage),
               let text = dwarf_formstring(attr) {
                return String(cString: text)
            }
        }
        return nil
    }
}
