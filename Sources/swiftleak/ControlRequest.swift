import LeakCollector

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
