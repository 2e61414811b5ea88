import Foundation
import LeakPost

// swiftleak-post URL BASE TIMEOUT_SECONDS BODY_FILE: posts the file's bytes
// to URL; exit 0 on a 2xx answer, else 1 with one line on stderr. Run by
// swiftleak's `push` and `--push` (LeakPush's PosterProcess), not by people.
let arguments = CommandLine.arguments
guard arguments.count == 5, let timeout = Double(arguments[3]), timeout > 0,
      let body = FileManager.default.contents(atPath: arguments[4]) else {
    FileHandle.standardError.write(Data("usage: swiftleak-post URL BASE TIMEOUT_SECONDS BODY_FILE (run by swiftleak push)\n".utf8))
    exit(2)
}
do {
    try HTTPPost(base: arguments[2], timeoutSeconds: timeout).post([UInt8](body), to: arguments[1])
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
