// SwiftLeaky: a Swift program with a known leak, for swiftleak's tests.
// Every request leaks one Session (a class instance, allocated through
// swift_allocObject) into a global registry; the allocation site is the
// `Session(...)` line in makeSession. Usage: SwiftLeaky REQUESTS
#if canImport(Glibc)
import Glibc
#endif

final class Session {
    let id: Int
    var bytes: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    init(id: Int) { self.id = id }
}

var registry: [Session] = []

@inline(never)
func makeSession(_ id: Int) -> Session {
    return Session(id: id)  // the leak site
}

@inline(never)
func handleRequest(_ id: Int) {
    registry.append(makeSession(id))
}

let requests = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100 : 100
registry.reserveCapacity(requests)
for id in 0..<requests {
    handleRequest(id)
}
print("leaked \(registry.count) sessions")
