import LeakCollector

/// The control requests that `run` and `attach` sessions answer alike
/// (`swiftleak snapshot`, `snapshot --collect`, `types`, `leaks`,
/// `retainers`); `status` and `detach` are each session's own.
struct SessionRequests {
    let pid: Int32
    let session: TracingSession
    let snapshots: SnapshotWriter

    /// The answer, or nil for a request the session answers itself.
    func answer(_ request: ControlRequest) -> ControlAnswer? {
        switch request {
        case let .snapshot(resetPeak):
            guard let path = snapshots.write(final: false, label: "snapshot") else {
                return .error("the snapshot could not be written (see the session's messages)")
            }
            if resetPeak { session.resetPeak() }
            return .ok(path)
        case .collect:
            do {
                return .ok("\(try session.collectGarbage())")
            } catch {
                return .error("\(error)")
            }
        case .types:
            return snapshots.writeWithTypes()
        case .scan:
            return snapshots.writeScan(pid: pid)
        case .status, .detach:
            return nil
        }
    }
}
