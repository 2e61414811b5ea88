import Foundation
import LeakModel
import LeakSymbols
import XCTest

/// A library dlopen'ed after the symbolizer was created is found after refresh().
final class SymbolizerRefreshTests: XCTestCase {
    func testRefreshFindsALibraryLoadedLater() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("leaksymbols-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("late.c").path
        let library = directory.appendingPathComponent("liblate.so").path
        try "int late_function(int x) { return x + 1; }\n".write(toFile: source, atomically: true, encoding: .utf8)
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-g", "-O0", "-shared", "-fPIC", "-o", library, source]
        try compiler.run()
        compiler.waitUntilExit()
        XCTAssertEqual(compiler.terminationStatus, 0)

        let symbolizer = try Symbolizer(pid: getpid())
        let handle = try XCTUnwrap(dlopen(library, RTLD_NOW))
        defer { dlclose(handle) }
        let address = UInt64(UInt(bitPattern: try XCTUnwrap(dlsym(handle, "late_function"))))

        // Not reported yet: address only, and that answer is cached...
        XCTAssertEqual(symbolizer.symbolize(address: address, isReturnAddress: false), Frame(address: address))
        // ...until refresh() sees the new mapping and drops module-less answers.
        try symbolizer.refresh()
        let frame = symbolizer.symbolize(address: address, isReturnAddress: false)
        XCTAssertEqual(frame.function, "late_function")
        XCTAssertEqual(frame.module, library)
        XCTAssertEqual(frame.line, 1)
        XCTAssertEqual(frame.file.map { URL(fileURLWithPath: $0).lastPathComponent }, "late.c")
    }
}
