/// A user-facing error: ArgumentParser prints it as one line and exits non-zero.
struct Failure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
