import LeakEvents
import CFuzzerDriver
import Glibc

/// The process: libFuzzer's driver, calling the entry point below per input.
@main
enum EventStreamFuzzer {
    static func main() {
        exit(swiftleak_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, eventStreamFuzzerTestOneInput))
    }
}

/// libFuzzer's entry point: decodes the input as an agent stream twice, in one
/// piece and cut into chunks (the socket delivers partial frames; the cuts are
/// drawn from a hash of the input, so a crash replays). Both must give the
/// same events and end the same way; anything but an `EventStreamError` is a
/// crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func eventStreamFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let stream = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let whole = Outcome(decoding: [stream])
    let chunked = Outcome(decoding: chunks(of: stream))
    // fatalError, not precondition: an optimized build drops a precondition's message.
    guard whole == chunked else { fatalError("chunked decoding differs: \(chunked) vs whole: \(whole)") }
    return 0
}

/// What a decoder made of a stream: its events, then either the error that
/// stopped it or the bytes it still holds for an incomplete frame.
struct Outcome: Equatable {
    var hello: AgentHello?
    var events: [AgentEvent] = []
    var error: EventStreamError?
    var buffered = 0

    init(decoding chunks: [[UInt8]]) {
        var decoder = EventDecoder()
        do {
            // Each chunk is its own exact-size allocation: a read past it hits ASan's redzone.
            for chunk in chunks { try decoder.feed(chunk) { events.append($0) } }
            buffered = decoder.bufferedByteCount
        } catch let failure as EventStreamError {
            guard !failure.description.contains("\n") else { fatalError("multi-line error: \(failure)") }
            error = failure
        } catch {
            fatalError("feed threw \(type(of: error)), not EventStreamError: \(error)")
        }
        hello = decoder.hello
    }
}

/// `stream` cut into pieces of 0 (an empty read), a few, or up to a few
/// thousand bytes.
func chunks(of stream: [UInt8]) -> [[UInt8]] {
    // Knuth's MMIX linear congruential generator, seeded by the input's FNV-1a
    // hash; its high bits are random enough to place cuts.
    var state = fnv1a(stream)
    var pieces: [[UInt8]] = []
    var offset = 0
    while offset < stream.count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let roll = state >> 32
        let length: Int
        switch roll % 8 {
        case 0: length = 0
        case 1, 2, 3: length = 1 + Int((roll >> 3) % 16)
        default: length = 1 + Int((roll >> 3) % 4096)
        }
        let end = min(offset + length, stream.count)
        pieces.append(Array(stream[offset..<end]))
        offset = end
    }
    return pieces
}

func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
