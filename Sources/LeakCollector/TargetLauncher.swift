import Glibc
import LeakProc

/// Starts the program `swiftleak run` traces, with the agent preloaded.
public enum TargetLauncher {
    /// Spawns `command` (searched in PATH) with LD_PRELOAD and the agent's
    /// settings added to our environment. The child gets a clean signal
    /// state: swiftleak blocks and ignores signals that the target must not inherit.
    /// With `followForks`, the agent in each fork child starts a session of its own.
    /// `sampleBytes` > 0: sampled mode, one allocation every that many bytes on average.
    public static func spawn(command: [String], agentPath: String, socketPath: String, frames: UInt32, sampleBytes: UInt64 = 0,
                             followForks: Bool = false) throws -> pid_t {
        var environment: [String] = []
        var preload = agentPath
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            index += 1
            if text.hasPrefix("LD_PRELOAD=") {
                let existing = String(text.dropFirst("LD_PRELOAD=".count))
                if !existing.isEmpty { preload += " " + existing }
                continue
            }
            if ["SWIFTLEAK_SOCKET=", "SWIFTLEAK_FRAMES=", "SWIFTLEAK_FOLLOW_FORKS=", "SWIFTLEAK_SAMPLE_BYTES="].contains(where: text.hasPrefix) { continue }
            environment.append(text)
        }
        environment.append("LD_PRELOAD=" + preload)
        environment.append("SWIFTLEAK_SOCKET=" + socketPath)
        environment.append("SWIFTLEAK_FRAMES=\(frames)")
        if followForks { environment.append("SWIFTLEAK_FOLLOW_FORKS=1") }
        if sampleBytes > 0 { environment.append("SWIFTLEAK_SAMPLE_BYTES=\(sampleBytes)") }

        var pid: pid_t = 0
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let result = SpawnSignals.withCleanAttributes { attributes in
            posix_spawnp(&pid, command[0], nil, &attributes, argv, envp)
        }
        guard result == 0 else {
            if result == ENOENT {
                throw CollectorError("command not found: \(command[0]); check the name or PATH")
            }
            if result == EACCES {
                throw CollectorError("cannot execute \(command[0]): permission denied")
            }
            throw CollectorError.system("cannot start \(command[0])", errno: result)
        }
        return pid
    }
}
