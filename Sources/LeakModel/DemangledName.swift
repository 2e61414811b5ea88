/// Reads the parts of a demangled C++ or Rust function name that say whose
/// code it is: the qualified name without a C++ return type or parameter
/// list, its root namespace (or crate), and for Rust's `<Self as Trait>::f`
/// and `<Self>::f` forms the impl's Self type and trait.
///
/// A C++ template function's demangled name starts with its return type
/// (`std::vector<int> make_list<int>()` is the program's `make_list`), so
/// a name's first word is not enough.
enum DemangledName {
    /// `std::vector<int> ns::f<int>(int) const` is `ns::f<int>`; Rust names,
    /// which have neither, come back whole.
    static func qualifiedName(_ name: String) -> Substring {
        let characters = Array(name.unicodeScalars)
        var angle = 0, paren = 0, brace = 0
        var start = 0
        var index = 0
        while index < characters.count {
            if var end = operatorEnd(characters, at: index) {
                // `std::operator< <char>`: the space before an operator's
                // template arguments is part of the name.
                if hasPrefix(characters, at: end, " <") { end += 1 }
                index = end
                continue
            }
            switch characters[index] {
            case "<": angle += 1
            case ">" where index == 0 || characters[index - 1] != "-": angle = max(0, angle - 1)
            case "{": brace += 1
            case "}": brace = max(0, brace - 1)
            case "(":
                if angle == 0 && paren == 0 && brace == 0 && !hasPrefix(characters, at: index, "(anonymous namespace)") {
                    return slice(name, characters, start, index)
                }
                paren += 1
            case ")": paren = max(0, paren - 1)
            case " " where angle == 0 && paren == 0 && brace == 0:
                // What comes before a top-level space is a return type.
                start = index + 1
            default: break
            }
            index += 1
        }
        return slice(name, characters, start, characters.count)
    }

    /// The first path segment when it is a plain identifier followed by `::`
    /// (`std` in `std::vector<int>::push_back`), nil otherwise (`<T as ...>`,
    /// `[u8]`, `str`, a C function).
    static func root(_ path: Substring) -> Substring? {
        let head = path.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !head.isEmpty, path.dropFirst(head.count).hasPrefix("::") else { return nil }
        return head
    }

    /// For `<Self as Trait>::rest` the Self type and trait, for `<Self>::rest`
    /// the Self type and nil; nil when `name` is not of either form.
    static func implParts(_ name: Substring) -> (selfType: Substring, trait: Substring?)? {
        guard name.first == "<" else { return nil }
        var depth = 0
        var previous: Character = " "
        var separator: Substring.Index?
        for index in name.indices {
            let character = name[index]
            defer { previous = character }
            switch character {
            case "<": depth += 1
            case ">" where previous != "-":
                depth -= 1
                if depth == 0 {
                    let inner = name[name.index(after: name.startIndex)..<index]
                    guard let separator else { return (inner, nil) }
                    let trait = name[name.index(separator, offsetBy: 4)..<index]
                    return (name[name.index(after: name.startIndex)..<separator], trait)
                }
            case " " where depth == 1 && separator == nil && name[index...].hasPrefix(" as "):
                separator = index
            default: break
            }
        }
        return nil
    }

    /// C++ operator names hold characters that would otherwise open or close
    /// a scope (`operator()`, `operator<<`, `operator->`, `operator new[]`):
    /// where one starts at `index`, the index just past it.
    private static func operatorEnd(_ characters: [Unicode.Scalar], at index: Int) -> Int? {
        guard hasPrefix(characters, at: index, "operator") else { return nil }
        if index > 0 {
            let before = characters[index - 1]
            guard !(before.properties.isAlphabetic || ("0"..."9").contains(before) || before == "_") else { return nil }
        }
        var end = index + 8
        if hasPrefix(characters, at: end, "()") { return end + 2 }
        if hasPrefix(characters, at: end, " new") || hasPrefix(characters, at: end, " delete") {
            end += characters[end + 1] == "n" ? 4 : 7
            if hasPrefix(characters, at: end, "[]") { end += 2 }
            return end
        }
        let symbols = Set("+-*/%^&|~!=<>,[]".unicodeScalars)
        while end < characters.count, symbols.contains(characters[end]) { end += 1 }
        return end
    }

    private static func hasPrefix(_ characters: [Unicode.Scalar], at index: Int, _ prefix: String) -> Bool {
        var position = index
        for scalar in prefix.unicodeScalars {
            guard position < characters.count, characters[position] == scalar else { return false }
            position += 1
        }
        return true
    }

    private static func slice(_ name: String, _ characters: [Unicode.Scalar], _ start: Int, _ end: Int) -> Substring {
        let scalars = name.unicodeScalars
        let from = scalars.index(scalars.startIndex, offsetBy: start)
        let to = scalars.index(from, offsetBy: end - start)
        return Substring(scalars[from..<to])
    }
}
