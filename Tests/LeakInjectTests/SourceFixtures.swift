import Foundation
import Glibc
import XCTest

/// The C fixtures kept as files in Tests/Fixtures (also built by
/// Scripts/build-fixtures), compiled here from source so a test never runs a
/// stale binary, and the real agent built by Scripts/build-agent.
enum SourceFixtures {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Compiles Tests/Fixtures/<name>.c (once per run) and returns its path.
    static func program(_ name: String) throws -> String {
        let source = try String(contentsOfFile: "\(repository)/Tests/Fixtures/\(name).c", encoding: .utf8)
        return try Fixtures.build(name, source, flags: ["-g"])
    }

    /// libswiftleak-agent.so, built into the tests' private directory.
    static let realAgent: Result<String, Error> = Result {
        let directory = "\(Fixtures.directory)/agent"
        let build = try ChildProcess("\(repository)/Scripts/build-agent", [directory])
        let log = build.readAll(timeout: 300)
        let status = build.waitExit(timeout: 300)
        build.terminate()
        guard status == 0 else { throw Fixtures.CompileError(name: "libswiftleak-agent.so", log: log) }
        return "\(directory)/libswiftleak-agent.so"
    }
}

/// The collector's side of the real agent's connection, reduced to what a
/// test needs: a listening Unix socket, and the agent's hello read back.
final class AgentListener {
    let path: String
    private let fd: Int32

    init(name: String) throws {
        path = "\(Fixtures.directory)/\(name)-\(UInt32.random(in: 0...UInt32.max)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// Accepts the agent's connection and returns the first 8 bytes it sent
    /// (the hello's magic), closing the connection after: the agent then
    /// shuts down and restores the program's GOT entries.
    func acceptHello(timeout: Double = 10) -> String? {
        var listening = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&listening, 1, Int32(timeout * 1000)) == 1 else { return nil }
        let connection = accept(fd, nil, nil)
        guard connection >= 0 else { return nil }
        defer { close(connection) }
        var magic = [UInt8]()
        let deadline = Date().addingTimeInterval(timeout)
        while magic.count < 8 && Date() < deadline {
            var readable = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            guard poll(&readable, 1, 100) >= 0 else { return nil }
            var byte: UInt8 = 0
            if readable.revents != 0 {
                guard read(connection, &byte, 1) == 1 else { return nil }
                magic.append(byte)
            }
        }
        return String(decoding: magic, as: UTF8.self)
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
