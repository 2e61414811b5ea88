import Foundation
import XCTest

/// A tiny C program, compiled with `cc -g -O0` by the test, that prints the
/// addresses of known code and then blocks on stdin, so a test can symbolize
/// a live process whose source lines it knows exactly.
final class FixtureProcess {
    /// The source; each `/* MARKER */` comment tags the line a test expects.
    static let source = """
    #include <stdint.h>
    #include <stdio.h>
    #include <unistd.h>

    __attribute__((noinline)) void *leaf_function(void) { /* LEAF */
        return __builtin_return_address(0);
    }

    /* gcc inlines always_inline even at -O0 and records it in DWARF. */
    static inline __attribute__((always_inline)) void *inlined_caller(void) {
        return leaf_function(); /* INLINE_CALL */
    }

    int main(void) {
        void *ret = leaf_function(); /* CALL */
        void *inlined_ret = inlined_caller();
        printf("%lx %lx %lx\\n", (unsigned long)(uintptr_t)&leaf_function,
               (unsigned long)(uintptr_t)ret, (unsigned long)(uintptr_t)inlined_ret);
        fflush(stdout);
        char buffer[64];
        while (read(0, buffer, sizeof buffer) > 0) {}
        return 0;
    }

    """

    /// 1-based line of the source line holding `/* marker */`.
    static func line(of marker: String) -> UInt32 {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let index = lines.firstIndex { $0.contains("/* \(marker) */") }!
        return UInt32(index + 1)
    }

    let directory: URL
    let sourcePath: String
    let binaryPath: String
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    /// Entry of leaf_function, return address in main, return address in the inlined code.
    private(set) var leafAddress: UInt64 = 0
    private(set) var returnInMain: UInt64 = 0
    private(set) var returnInInlined: UInt64 = 0

    var pid: Int32 { process.processIdentifier }

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("leaksymbols-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        sourcePath = directory.appendingPathComponent("fixture.c").path
        binaryPath = directory.appendingPathComponent("fixture").path
        try Self.source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/env", ["cc", "-g", "-O0", "-o", binaryPath, sourcePath])
    }

    /// Starts the program and reads the addresses it prints.
    func start() throws {
        process.executableURL = URL(fileURLWithPath: binaryPath)
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        try process.run()
        var output = Data()
        let deadline = Date(timeIntervalSinceNow: 10)
        while !output.contains(UInt8(ascii: "\n")) {
            // availableData blocks: wait for something to read, 10 s at most.
            var ready = pollfd(fd: stdoutPipe.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let left = deadline.timeIntervalSinceNow
            let polled = left > 0 ? poll(&ready, 1, Int32(left * 1000) + 1) : 0
            if polled < 0 && errno == EINTR { continue }
            guard polled > 0 else {
                process.terminate()
                throw FixtureError("fixture printed no addresses within 10 s")
            }
            let chunk = stdoutPipe.fileHandleForReading.availableData
            if chunk.isEmpty { throw FixtureError("fixture exited before printing its addresses") }
            output.append(chunk)
        }
        let fields = String(decoding: output, as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\n" })
            .compactMap { UInt64($0, radix: 16) }
        guard fields.count == 3 else { throw FixtureError("unexpected fixture output") }
        (leafAddress, returnInMain, returnInInlined) = (fields[0], fields[1], fields[2])
    }

    /// Closes its stdin, which makes it exit, and reaps it.
    func stop() {
        guard process.isRunning else { return }
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: tool)
        compiler.arguments = arguments
        try compiler.run()
        compiler.waitUntilExit()
        guard compiler.terminationStatus == 0 else {
            throw FixtureError("\(arguments.joined(separator: " ")) failed")
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
