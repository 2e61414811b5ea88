/// fnmatch-style pattern matching, as tracemalloc filters use it: `*` matches
/// any run of characters (including "/"), `?` one character, `[abc]`, `[a-z]`
/// and `[!abc]` one character of (or not of) a set. Case-sensitive. A `[`
/// without a closing `]` matches itself.
public struct Glob: Hashable, Sendable {
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Hashable, Sendable {
        case literal(Unicode.Scalar)
        case any
        case star
        case set(negated: Bool, items: [ClosedRange<Unicode.Scalar>])
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        self.tokens = Glob.parse(Array(pattern.unicodeScalars))
    }

    private static func parse(_ p: [Unicode.Scalar]) -> [Token] {
        var tokens: [Token] = []
        var i = 0
        while i < p.count {
            switch p[i] {
            case "*":
                if tokens.last != .star { tokens.append(.star) }  // "**" is "*"
                i += 1
            case "?":
                tokens.append(.any)
                i += 1
            case "[":
                if let (token, next) = parseSet(p, from: i) {
                    tokens.append(token)
                    i = next
                } else {
                    tokens.append(.literal("["))
                    i += 1
                }
            default:
                tokens.append(.literal(p[i]))
                i += 1
            }
        }
        return tokens
    }

    /// Parses "[...]" starting at `start`; nil when it is not closed.
    private static func parseSet(_ p: [Unicode.Scalar], from start: Int) -> (Token, Int)? {
        var i = start + 1
        var negated = false
        if i < p.count, p[i] == "!" {
            negated = true
            i += 1
        }
        var items: [ClosedRange<Unicode.Scalar>] = []
        var first = true
        while i < p.count {
            // A "]" right after "[" or "[!" is a member, not the end.
            if p[i] == "]" && !first { return (.set(negated: negated, items: items), i + 1) }
            first = false
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                if p[i] <= p[i + 2] { items.append(p[i]...p[i + 2]) }  // reversed range matches nothing
                i += 3
            } else {
                items.append(p[i]...p[i])
                i += 1
            }
        }
        return nil
    }

    public func matches(_ text: String) -> Bool {
        let s = Array(text.unicodeScalars)
        // Greedy match with a single backtrack point for the last star:
        // linear-ish and no recursion, whatever the pattern.
        var ti = 0, si = 0
        var starToken = -1, starText = 0
        while si < s.count {
            if ti < tokens.count, tokens[ti] != .star, Glob.matchOne(tokens[ti], s[si]) {
                ti += 1
                si += 1
            } else if ti < tokens.count, tokens[ti] == .star {
                starToken = ti
                starText = si
                ti += 1
            } else if starToken >= 0 {
                ti = starToken + 1
                starText += 1
                si = starText
            } else {
                return false
            }
        }
        while ti < tokens.count, tokens[ti] == .star { ti += 1 }
        return ti == tokens.count
    }

    private static func matchOne(_ token: Token, _ c: Unicode.Scalar) -> Bool {
        switch token {
        case let .literal(l): return l == c
        case .any: return true
        case .star: return false
        case let .set(negated, items): return items.contains { $0.contains(c) } != negated
        }
    }
}
