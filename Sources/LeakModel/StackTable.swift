/// A snapshot's call stacks as the file keeps them: one flat list of frame
/// indices and where each stack ends, instead of an array per stack (a
/// quarter of the memory, and one allocation instead of one per stack).
/// Reads like `[[Int]]`: `stacks[i]` is stack i's frame indices, innermost first.
public struct StackTable: RandomAccessCollection, ExpressibleByArrayLiteral, Hashable, Sendable, CustomStringConvertible {
    /// Frame indices of every stack, one after another. Int32 like the
    /// interned frame indices; an index beyond that range is out of range
    /// anyway and is kept out of range by clamping.
    private var flat: [Int32] = []
    /// One past the last entry of `flat` of each stack.
    private var ends: [Int] = []

    public init() {}

    public init<Stacks: Sequence>(_ stacks: Stacks) where Stacks.Element: Sequence, Stacks.Element.Element == Int {
        for stack in stacks { append(stack) }
    }

    public init(arrayLiteral stacks: [Int]...) {
        self.init(stacks)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.count }

    public subscript(position: Int) -> Stack {
        Stack(frames: flat[(position == 0 ? 0 : ends[position - 1])..<ends[position]])
    }

    public mutating func append<Frames: Sequence>(_ stack: Frames) where Frames.Element == Int {
        for index in stack { flat.append(Int32(clamping: index)) }
        ends.append(flat.count)
    }

    /// Room for `stacks` more stacks of `frames` frame indices in all.
    public mutating func reserveCapacity(stacks: Int, frames: Int) {
        ends.reserveCapacity(ends.count + stacks)
        flat.reserveCapacity(flat.count + frames)
    }

    public var description: String { map { Array($0) }.description }

    /// One stack's frame indices, innermost first.
    public struct Stack: RandomAccessCollection, Hashable, Sendable {
        let frames: ArraySlice<Int32>

        public var startIndex: Int { 0 }
        public var endIndex: Int { frames.count }
        public subscript(position: Int) -> Int { Int(frames[frames.startIndex + position]) }
    }
}
