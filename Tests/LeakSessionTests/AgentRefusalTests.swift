import Foundation
import Glibc
import LeakCollector
import LeakEvents
import XCTest

/// An agent from another swiftleak build (another wire protocol) is turned
/// away with a reason the user can act on, where it used to be dropped
/// without a word and the target ran untraced.
final class AgentRefusalTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "swiftleak-refusal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAnAgentSpeakingAnotherProtocolIsRefusedWithTheReason() throws {
        let path = directory + "/events.sock"
        let refused = expectation(description: "the connection is refused")
        let heard = NSLock()
        var refusal: (pid: Int32, why: String)?
        let agents = AgentListener(listener: try EventListener(path: path), refused: { pid, why in
            heard.withLock { refusal = (pid, why) }
            refused.fulfill()
        }) { _ in
            XCTFail("a stream of another protocol was taken")
            return false
        }
        defer { agents.stop() }

        let client = try connectAndSayHelloFromTheNextProtocol(path)
        defer { close(client) }

        wait(for: [refused], timeout: 10)
        let seen = heard.withLock { refusal }
        XCTAssertEqual(seen?.pid, getpid())
        XCTAssertEqual(seen?.why, "the agent speaks protocol version \(ProtocolConstants.version + 1), this swiftleak speaks \(ProtocolConstants.version); use the agent built with this swiftleak")
    }

    /// `attach` waits for its agent's hello; when that agent is refused the
    /// wait must end at once with the reason, not at its timeout.
    func testAWaitForTheAgentEndsWhenItsAgentIsRefused() throws {
        let path = directory + "/events.sock"
        let store = try SnapshotStore(directory: directory + "/out")
        let session = TracingSession(pid: getpid(), mode: .attach, frames: 64, command: [], store: store,
                                     listener: try EventListener(path: path))
        defer { session.close() }

        let waited = expectation(description: "the wait for the agent ended")
        let answer = NSLock()
        nonisolated(unsafe) var found: Bool?
        Thread {
            let agent = session.waitForAgent(timeout: 3600)
            answer.withLock { found = agent }
            waited.fulfill()
        }.start()

        let client = try connectAndSayHelloFromTheNextProtocol(path)
        defer { close(client) }

        wait(for: [waited], timeout: 30)
        XCTAssertEqual(answer.withLock { found }, false, "no agent was taken")
        XCTAssertEqual(session.refusal?.hasPrefix("the agent speaks protocol version \(ProtocolConstants.version + 1)"), true,
                       "the reason is kept: \(session.refusal ?? "none")")
    }

    /// Connects to the listener at `path` and sends the hello of sl_hello's
    /// layout from this process, as an agent one protocol ahead would;
    /// returns the connected socket.
    private func connectAndSayHelloFromTheNextProtocol(_ path: String) throws -> Int32 {
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(connected, 0, "connect: errno \(errno)")

        let other = ProtocolConstants.version + 1
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let hello = ProtocolConstants.helloMagic + le(other) + le(UInt32(ProtocolConstants.helloSize)) + le(UInt32(getpid()))
            + le(UInt32(1)) + le(UInt32(64)) + le(UInt32(0)) + le(UInt64(0))
        XCTAssertEqual(hello.count, ProtocolConstants.helloSize)
        XCTAssertEqual(hello.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }, hello.count)
        return client
    }
}
