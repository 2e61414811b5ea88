import ArgumentParser
import LeakCollector

/// `swiftleak snapshot PID`: ask the attach session of PID for a snapshot.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Write a snapshot of a process that swiftleak is attached to; prints its path.",
        discussion: "Same as `kill -USR1 <swiftleak pid>`, addressed by the target's pid."
    )

    @Argument(help: ArgumentHelp("The traced process.", valueName: "pid"))
    var pid: Int32

    @Flag(name: .customLong("reset-peak"), help: "After the snapshot, start a new peak window (tracemalloc's reset_peak).")
    var resetPeak = false

    func run() throws {
        let answer = try ControlRequest.send(resetPeak ? "snapshot reset-peak" : "snapshot", to: pid)
        Console.output(answer + "\n")
    }
}

/// `swiftleak detach PID`: end the attach session of PID.
struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a final snapshot, turn the hooks off and leave the process running; prints the snapshot path."
    )

    @Argument(help: ArgumentHelp("The traced process.", valueName: "pid"))
    var pid: Int32

    func run() throws {
        let answer = try ControlRequest.send("detach", to: pid)
        Console.output(answer + "\n")
    }
}

/// Sends one control request and turns an `error` answer into a failure.
enum ControlRequest {
    static func send(_ request: String, to pid: Int32) throws -> String {
        let answer: String
        do {
            answer = try ControlClient.send(request, toTarget: pid)
        } catch let error as CollectorError {
            throw Failure(error.description)
        }
        if answer.hasPrefix("ok ") { return String(answer.dropFirst(3)) }
        if answer.hasPrefix("error ") { throw Failure(String(answer.dropFirst(6))) }
        throw Failure("unexpected answer from the session of pid \(pid): \(answer)")
    }
}
