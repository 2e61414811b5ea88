import Foundation
import LeakProc

/// Finds libswiftleak-agent.so: `$SWIFTLEAK_AGENT`, else next to the
/// swiftleak executable, else `../lib/swiftleak/` relative to it.
public enum AgentLocator {
    public static let fileName = "libswiftleak-agent.so"

    public static func locate() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["SWIFTLEAK_AGENT"], !explicit.isEmpty {
            guard FileManager.default.isReadableFile(atPath: explicit) else {
                throw CollectorError("SWIFTLEAK_AGENT=\(explicit) does not exist; unset it or point it at libswiftleak-agent.so")
            }
            return absolute(explicit)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let resolved = ProcFiles.readLink("/proc/self/exe").map(URL.init(fileURLWithPath:)) ?? executable
        let directory = resolved.deletingLastPathComponent()
        let candidates = [
            directory.appendingPathComponent(fileName).path,
            directory.appendingPathComponent("../lib/swiftleak/\(fileName)").standardized.path,
        ]
        for candidate in candidates where FileManager.default.isReadableFile(atPath: candidate) {
            return candidate
        }
        throw CollectorError("cannot find \(fileName) next to \(directory.path); run Scripts/build or set SWIFTLEAK_AGENT")
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
