import Glibc
import LeakCollector
import LeakInject

/// Where the agent's socket goes: in our private runtime directory, or, when
/// the target lives in another mount namespace (a container), in a private
/// directory inside the target's root, so the agent can reach it by path.
struct EventSocketPlacement {
    let hostPath: String
    let targetPath: String

    init(pid: Int32, runtime: String) throws {
        let name = "attach-\(pid)-\(getpid()).events"
        let filesystem = TargetFilesystem(pid: pid)
        if filesystem.sharesOurRoot {
            hostPath = runtime + "/" + name
            targetPath = hostPath
            return
        }
        let directory = "/tmp/swiftleak-\(getuid())"
        let hostDirectory = filesystem.hostPath(forTargetPath: directory)
        _ = try RuntimeDirectory.ensure(hostDirectory)
        targetPath = directory + "/" + name
        hostPath = filesystem.hostPath(forTargetPath: targetPath)
    }
}
