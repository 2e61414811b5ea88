// Retains class instances in a global dictionary, in rounds driven over
// stdin: "work N" adds N `Session`s and N `Box<Int>`s (a generic class,
// whose metadata the runtime makes on the heap) and answers "done N";
// "quit" exits 0. Prints "ready" first. Built -O -g: `swiftleak types`
// must name the instances by their class from memory alone.
import Glibc
final class Session {
    let id: Int
    var bytesSeen = 0
    init(id: Int) { self.id = id }
}

final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

var sessions: [Int: Session] = [:]
var boxes: [Int: Box<Int>] = [:]
var next = 0

// The tables start big enough that the rounds never grow them: the live
// blocks then change by exactly the objects added.
sessions.reserveCapacity(100_000)
boxes.reserveCapacity(100_000)
setvbuf(stdout, nil, _IOLBF, 0)  // each answer reaches the test at once (stdout is a pipe there)
print("ready")
while let line = readLine() {
    let words = line.split(separator: " ")
    if words.first == "quit" { break }
    guard words.count == 2, words[0] == "work", let count = Int(words[1]) else { continue }
    for _ in 0..<count {
        sessions[next] = Session(id: next)
        boxes[next] = Box(next)
        next += 1
    }
    print("done \(count)")
}
