import ArgumentParser
import LeakCollector

/// `swiftleak detach PID`: end the attach session of PID.
struct Detach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a final snapshot, turn the hooks off and leave the process running; prints the snapshot path."
    )

    @Argument(help: ArgumentHelp("The traced process.", valueName: "pid"))
    var pid: Int32

    func run() throws {
        let path = try ControlClient.request(.detach, toTarget: pid)
        Console.output(path + "\n")
    }
}
