// NIOServer: a line-based TCP service on SwiftNIO whose "session" request
// leaks one record of a known size at a known function (makeSessionRecord).
// Listens on an ephemeral port of 127.0.0.1, prints
// "ready <port> record <bytes per leaked record>", and exits 0 after a
// client sent "quit". Two event-loop threads, as a small real service would
// run; the main thread waits for the server to close.
import Glibc
import NIOCore
import NIOPosix

setvbuf(stdout, nil, _IOLBF, 0)
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let serverChannel = ListeningChannel()
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.addHandler(LineHandler(quit: { serverChannel.close() }))
    }
let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
serverChannel.set(channel)
print("ready \(channel.localAddress?.port ?? 0) record \(sessionRecordSize)")
try channel.closeFuture.wait()
try group.syncShutdownGracefully()
exit(0)
