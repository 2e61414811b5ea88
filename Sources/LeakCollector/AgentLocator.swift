import Foundation
import LeakProc

/// Finds libswiftleak-agent.so (and swiftleak's other companion files):
/// `$SWIFTLEAK_AGENT`, else next to the swiftleak executable, else
/// `../lib/swiftleak/` relative to it.
public enum AgentLocator {
    public static let fileName = "libswiftleak-agent.so"

    public static func locate() throws -> String {
        try companion(fileName, overriddenBy: "SWIFTLEAK_AGENT")
    }

    /// A file installed with swiftleak: `$variable` when set, else next to
    /// the swiftleak executable, else `../lib/swiftleak/` relative to it.
    public static func companion(_ name: String, overriddenBy variable: String) throws -> String {
        if let explicit = ProcessInfo.processInfo.environment[variable], !explicit.isEmpty {
            guard FileManager.default.isReadableFile(atPath: explicit) else {
                throw CollectorError("\(variable)=\(explicit) does not exist; unset it or point it at \(name)")
            }
            return absolute(explicit)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let resolved = ProcFiles.readLink("/proc/self/exe").map(URL.init(fileURLWithPath:)) ?? executable
        let directory = resolved.deletingLastPathComponent()
        let candidates = [
            directory.appendingPathComponent(name).path,
            directory.appendingPathComponent("../lib/swiftleak/\(name)").standardized.path,
        ]
        for candidate in candidates where FileManager.default.isReadableFile(atPath: candidate) {
            return candidate
        }
        throw CollectorError("cannot find \(name) next to \(directory.path); run Scripts/build or set \(variable)")
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}
