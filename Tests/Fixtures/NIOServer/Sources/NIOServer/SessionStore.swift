import NIOConcurrencyHelpers

/// Bytes in one session record: the leak's known size.
let sessionRecordSize = 4001

/// Every session record ever made, never freed: the service's leak.
let sessionStore = NIOLockedValueBox<[UnsafeMutableRawPointer]>([])

/// The leak site the tests name: one `sessionRecordSize`-byte block per
/// "session" request. Not inlined, so it is a frame of its own.
@inline(never)
func makeSessionRecord(_ number: Int) -> UnsafeMutableRawPointer {
    let record = UnsafeMutableRawPointer.allocate(byteCount: sessionRecordSize, alignment: 8)
    record.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: number), count: sessionRecordSize)
    return record
}

/// Keeps a new record; returns how many are held now.
func rememberSession() -> Int {
    sessionStore.withLockedValue { records in
        records.append(makeSessionRecord(records.count))
        return records.count
    }
}

func sessionsHeld() -> Int {
    sessionStore.withLockedValue { $0.count }
}
