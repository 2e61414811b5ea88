// SwiftService: a long-running Swift program with a known leak, for the
// attach tests. It prints "ready", then reads commands from stdin:
//   "work N"  handle N requests; each leaks one Request (a class instance,
//             allocated through swift_allocObject) into a global registry,
//             through a chain of non-inlined functions; prints "done N"
//   "quit"    prints "leaked <total> requests" and exits 0
// The allocation site is the `Request(...)` line in makeRequest.
#if canImport(Glibc)
import Glibc
#endif

final class Request {
    let id: Int
    var payload: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0)
    init(id: Int) { self.id = id }
}

var registry: [Request] = []

@inline(never)
func makeRequest(_ id: Int) -> Request {
    return Request(id: id)  // the leak site
}

@inline(never)
func remember(_ id: Int) {
    registry.append(makeRequest(id))
}

@inline(never)
func handle(requests count: Int) {
    for _ in 0..<count {
        remember(registry.count)
    }
}

setvbuf(stdout, nil, _IOLBF, 0)
print("ready")
while let line = readLine() {
    let words = line.split(separator: " ")
    if words.first == "work", words.count == 2, let count = Int(words[1]) {
        handle(requests: count)
        print("done \(count)")
    } else if words.first == "quit" {
        break
    }
}
print("leaked \(registry.count) requests")
