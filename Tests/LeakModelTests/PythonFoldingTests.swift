import XCTest
@testable import LeakModel

/// CPython's allocator and call machinery fold away above the first Python
/// frame (or an extension's first native frame); per-frame groupings key on
/// the first Python frame, as tracemalloc's do.
final class PythonFoldingTests: XCTestCase {
    let libpython = "/opt/python/lib/libpython3.12.so.1.0"
    func native(_ function: String, _ module: String) -> Frame { Frame(function: function, module: module, address: 1) }
    func python(_ function: String, _ line: UInt32) -> Frame {
        Frame(function: function, file: "/srv/app.py", line: line, module: PythonFrames.moduleName, address: 1 << 63 | UInt64(line))
    }

    func testInterpreterFramesAboveThePythonLineFold() {
        let stack = [native("malloc", "/usr/lib/libswiftleak-agent.so"), native("_PyObject_Calloc", libpython),
                     native("_PyBytes_FromSize", libpython), native("type_call", libpython),
                     python("handle_request", 9), python("<module>", 20), native("Py_RunMain", libpython), native("main", "/usr/bin/python3.12")]
        XCTAssertEqual(AllocatorFrames.fold(stack).map(\.function), ["handle_request", "<module>", "Py_RunMain", "main"])
    }

    func testAnExtensionsNativeFrameIsFrameZeroButTheLineIsPythons() {
        let stack = [native("strdup", "/lib/libc.so.6"), native("leaky_call", "/srv/ext.cpython-312-x86_64-linux-gnu.so"),
                     native("_PyObject_MakeTpCall", libpython), python("native_request", 30), python("<module>", 40)]
        let folded = AllocatorFrames.fold(stack)
        XCTAssertEqual(folded.first?.function, "leaky_call")
        XCTAssertEqual(PythonFrames.keyFrame(folded, groupBy: .lineno).line, 30)
        XCTAssertEqual(PythonFrames.keyFrame(folded, groupBy: .module).function, "leaky_call")
    }

    func testInterpreterFramesBetweenPythonFramesFold() {
        let stack = [native("_PyObject_Calloc", libpython), python("serve", 30), native("_PyFunction_Vectorcall", libpython),
                     native("?", "/usr/bin/python3.11"), python("Thread.run", 975), native("thread_run", libpython), native("start_thread", "/lib/libc.so.6")]
        XCTAssertEqual(AllocatorFrames.fold(stack).map(\.function), ["serve", "Thread.run", "thread_run", "start_thread"])
    }

    func testAStackWithoutPythonFramesKeepsTheAllocatorRules() {
        let stack = [native("malloc", "/lib/libc.so.6"), native("_PyObject_Malloc", libpython), native("Py_InitializeFromConfig", libpython)]
        XCTAssertNil(PythonFrames.fold(stack))
        XCTAssertEqual(AllocatorFrames.fold(stack).first?.function, "_PyObject_Malloc")
    }
}
