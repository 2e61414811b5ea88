import Foundation
import Glibc

/// A minimal HTTP/1.1 client on 127.0.0.1, enough to put a bounded load on a
/// server the test started: blocking sockets, a deadline on every read.
struct LoopbackHTTP {
    let port: UInt16

    /// A port nobody listens on right now (the kernel picks it).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw CocoaError(.fileReadUnknown) }
        return UInt16(bigEndian: address.sin_port)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    /// A connected socket, or nil when nobody accepts.
    func connect() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if !connected { close(fd) }
        return connected ? fd : nil
    }

    /// Sends `GET /` on `fd` and reads the whole answer: true when it is a
    /// 200 whose body is `body`. `keepAlive: false` asks the server to close.
    func get(_ fd: Int32, expecting body: String, keepAlive: Bool = true, timeout: Double = 10) -> Bool {
        let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n"
        guard Array(request.utf8).withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.utf8.count else {
            return false
        }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound]
                let length = head.split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? -1
                let bodyBytes = text[end.upperBound...].utf8.count
                if length >= 0 && bodyBytes >= length {
                    return head.hasPrefix("HTTP/1.1 200") && String(text[end.upperBound...]) == body
                }
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard remaining > 0, poll(&entry, 1, remaining) == 1 else { return false }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            received += chunk[0..<count]
        }
    }

    /// One request on a connection of its own, closed by the server.
    func getOnce(expecting body: String) -> Bool {
        guard let fd = connect() else { return false }
        defer { close(fd) }
        return get(fd, expecting: body, keepAlive: false)
    }
}
