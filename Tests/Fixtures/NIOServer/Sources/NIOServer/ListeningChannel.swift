import NIOConcurrencyHelpers
import NIOCore

/// The listening channel, set once bound, closed by a "quit" on any connection.
final class ListeningChannel: @unchecked Sendable {
    private let channel = NIOLockedValueBox<Channel?>(nil)

    func set(_ value: Channel) {
        channel.withLockedValue { $0 = value }
    }

    func close() {
        channel.withLockedValue { $0 }?.close(promise: nil)
    }
}
