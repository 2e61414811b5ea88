/// Keeps or drops traces by a glob on one field of their frames, like
/// tracemalloc's `Filter`.
public struct TraceFilter: Hashable, Sendable {
    /// Which frame field the pattern is matched against.
    public enum Field: String, CaseIterable, Sendable {
        case file
        case function
        case module
    }

    /// Inclusive filters keep matching traces, exclusive ones drop them.
    public var inclusive: Bool
    public var field: Field
    public var pattern: Glob
    /// Match any frame of the folded stack instead of frame 0 only.
    public var allFrames: Bool

    public init(inclusive: Bool, field: Field, pattern: String, allFrames: Bool = false) {
        self.inclusive = inclusive
        self.field = field
        self.pattern = Glob(pattern)
        self.allFrames = allFrames
    }

    /// Whether the pattern matches the relevant frame(s); an unknown field
    /// is matched as the empty string, so "*" matches it and "libc*" does not.
    public func matches(_ frames: [Frame]) -> Bool {
        if allFrames { return frames.contains(where: matches(_:)) }
        guard let first = frames.first else { return false }
        return matches(first)
    }

    public func matches(_ frame: Frame) -> Bool {
        let value: String?
        switch field {
        case .file: value = frame.file
        case .function: value = frame.function
        case .module: value = frame.module
        }
        return pattern.matches(value ?? "")
    }

    /// tracemalloc's rule: with any inclusive filters a trace must match at
    /// least one of them, and it must match no exclusive filter.
    public static func keeps(_ frames: [Frame], filters: [TraceFilter]) -> Bool {
        keeps(filters: filters) { filters[$0].matches(frames) }
    }

    /// `keeps` with each filter's match (by position in `filters`) decided
    /// by the caller, who may know it without the frames.
    static func keeps(filters: [TraceFilter], matches: (Int) -> Bool) -> Bool {
        var sawInclusive = false
        var matchedInclusive = false
        for (index, filter) in filters.enumerated() {
            if filter.inclusive {
                sawInclusive = true
                if !matchedInclusive && matches(index) { matchedInclusive = true }
            } else if matches(index) {
                return false
            }
        }
        return !sawInclusive || matchedInclusive
    }
}
