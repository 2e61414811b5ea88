import LeakModel

/// Each distinct frame's text made once, however many stacks of a result
/// hold it: a result's frames are indices into one shared table.
struct FrameTextCache {
    private let render: (Frame) -> String
    private var table: InternedFrames?
    private var texts: [String?] = []

    init(_ render: @escaping (Frame) -> String) {
        self.render = render
    }

    mutating func text(_ frames: TracebackFrames, at position: Int) -> String {
        if frames.table !== table {
            // Results built by hand may bring a table per statistic: keep the latest.
            table = frames.table
            texts = [String?](repeating: nil, count: frames.table.frames.count)
        }
        let index = frames.frameIndex(at: position)
        if let text = texts[index] { return text }
        let text = render(frames[position])
        texts[index] = text
        return text
    }
}
