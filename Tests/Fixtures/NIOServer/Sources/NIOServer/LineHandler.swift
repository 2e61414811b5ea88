import NIOCore

/// Splits a connection's bytes into lines and answers each one:
///   "session" -> "ok <n>" (keeps one more record), "count" -> "held <n>",
///   "quit" -> "bye", then the server closes; anything else -> "error unknown request".
final class LineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var pending = ByteBuffer()
    private let quit: () -> Void

    init(quit: @escaping () -> Void) {
        self.quit = quit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        pending.writeBuffer(&incoming)
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            let line = pending.readString(length: length) ?? ""
            pending.moveReaderIndex(forwardBy: 1)
            answer(line.trimmingSpaces, context: context)
        }
        pending.discardReadBytes()
    }

    private func answer(_ request: Substring, context: ChannelHandlerContext) {
        let reply: String
        switch request {
        case "session": reply = "ok \(rememberSession())"
        case "count": reply = "held \(sessionsHeld())"
        case "quit": reply = "bye"
        default: reply = "error unknown request"
        }
        let written = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply + "\n")))
        if request == "quit" {
            let quit = self.quit
            written.whenComplete { _ in quit() }
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
