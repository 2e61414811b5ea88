/// ANSI styling that disappears entirely when colour is off, so plain output
/// carries no escape codes.
struct Style {
    let enabled: Bool

    func bold(_ s: String) -> String { wrap(s, "1") }
    func dim(_ s: String) -> String { wrap(s, "2") }
    func red(_ s: String) -> String { wrap(s, "31") }
    func green(_ s: String) -> String { wrap(s, "32") }
    func yellow(_ s: String) -> String { wrap(s, "33") }

    /// Growth in red, shrinkage in green, no change plain.
    func delta(_ s: String, _ value: Int64) -> String {
        value > 0 ? red(s) : value < 0 ? green(s) : s
    }

    private func wrap(_ s: String, _ code: String) -> String {
        enabled && !s.isEmpty ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}
