import Glibc
import LeakCollector

/// What `run` and `attach` each add to the loop they share.
protocol SessionFrontEnd {
    /// The exit status once the session is over; checked before every wait.
    mutating func finished() -> Int32?
    /// False while periodic snapshots must wait (a detach under way).
    var takesPeriodicSnapshots: Bool { get }
    /// Work of the front end's own before each wait (warm-up, gates).
    mutating func beforeWait()
    /// SIGUSR1 wrote a snapshot (nil when it could not be written).
    mutating func requestedSnapshot(_ path: String?)
    /// SIGINT, SIGTERM or SIGHUP arrived; the exit status when that ends the session.
    mutating func stop(_ delivery: SignalWaiter.Delivery) -> Int32?
}

/// The one event loop of a tracing session: periodic snapshots, the session
/// signals taken one at a time (so no handler runs in the middle of a
/// snapshot), and the front end's checks between them.
struct SessionLoop {
    var periodic: PeriodicSnapshots
    let snapshots: SnapshotWriter

    mutating func run<FrontEnd: SessionFrontEnd>(_ frontEnd: inout FrontEnd) -> Int32 {
        while true {
            if let status = frontEnd.finished() { return status }
            if periodic.isDue(), frontEnd.takesPeriodicSnapshots,
               let path = snapshots.write(final: false, label: "periodic snapshot") {
                for expired in periodic.wrote(path) { unlink(expired) }
                periodic.afterWrite?(path)
            }
            frontEnd.beforeWait()
            let wait = min(0.2, periodic.secondsUntilDue() ?? 0.2)
            guard let delivery = SignalWaiter.wait(timeout: max(wait, 0.01)) else { continue }
            switch delivery.signal {
            case SIGUSR1:
                frontEnd.requestedSnapshot(snapshots.write(final: false, label: "snapshot"))
            case SIGINT, SIGTERM, SIGHUP:
                if let status = frontEnd.stop(delivery) { return status }
            default:
                continue  // SIGCHLD: `finished` at the top of the loop looks
            }
        }
    }
}
