/// Live bytes and blocks of one interned stack, as the aggregator counts them.
public struct StackTotals: Equatable, Sendable {
    /// The agent's id of the stack (`SL_REC_STACK`).
    public var stackID: UInt32
    /// Return addresses, innermost first.
    public var ips: [UInt64]
    public var liveBytes: UInt64 = 0
    public var liveBlocks: UInt64 = 0

    public init(stackID: UInt32, ips: [UInt64]) {
        self.stackID = stackID
        self.ips = ips
    }
}
