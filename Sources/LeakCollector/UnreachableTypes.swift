import LeakModel
import LeakSymbols
import LeakTypes

/// Names the types of a scan's unreachable blocks while the process is
/// alive, so a leaked cycle reads `app.Session <-> app.Handler` in any later
/// report of the snapshot, offline too.
public enum UnreachableTypes {
    /// Reads the head of each unreachable block (nothing can free them: no
    /// pointer reaches them) and keeps the name memory proves, if any.
    public static func name(_ scan: inout ReachabilityScan, pid: Int32) {
        guard !scan.unreachable.isEmpty else { return }
        let namer = BlockTypeCensus.namer(pid: pid)
        let heads = BlockHeadReader(pid: pid).read(addresses: scan.unreachable.map(\.address),
                                                   sizes: scan.unreachable.map(\.size))
        for (index, head) in zip(scan.unreachable.indices, heads) where head.count > 0 {
            scan.unreachable[index].typeName = namer.name(head)
        }
    }
}
