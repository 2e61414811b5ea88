import LeakModel

extension Snapshot {
    /// The traced program's file name ("leaky" for /opt/bin/leaky): the
    /// profile's name, and the service name a push uses unless told.
    public var programName: String {
        metadata.command.first?.split(separator: "/").last.map(String.init) ?? "pid-\(metadata.pid)"
    }
}
