@testable import LeakModel
import LeakTestSupport
import XCTest

/// Swift async callers in the model: the executor's frames below them fold
/// away unless raw, and the "async frames" section keeps their mark.
final class AsyncFramesTests: XCTestCase {
    private typealias S = AsyncStackFixture

    func testExecutorFramesFoldAwayAfterTheAsyncCallers() {
        XCTAssertEqual(AllocatorFrames.fold(S.frames), [S.makeRecord] + S.callers)
        let snapshot = makeSnapshot([(S.frames, 700, 1)])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .traceback).map(\.traceback), [[S.makeRecord] + S.callers])
        XCTAssertEqual(Statistics.compute(snapshot, groupBy: .traceback, options: AnalysisOptions(raw: true)).map(\.traceback),
                       [S.frames])
    }

    /// A task's stack without async callers (the chain could not be read, or
    /// the task's first partial function): the executor still folds.
    func testExecutorFoldsInASynchronousTaskStack() {
        XCTAssertEqual(AllocatorFrames.fold([S.slowAlloc, S.makeRecord] + S.executor), [S.makeRecord])
    }

    /// Stacks that never ran a job keep their outer frames (libdispatch
    /// callbacks, thread starts).
    func testStacksWithoutAJobRunnerKeepTheirOuterFrames() {
        let stack = [S.slowAlloc, S.makeRecord] + S.executor.dropFirst(2)
        XCTAssertEqual(AllocatorFrames.fold(stack), Array(stack.dropFirst()))
    }

    func testAsyncMarksRoundTripInTheirOwnSection() throws {
        let snapshot = makeSnapshot([(S.frames, 700, 1)])
        let bytes = SnapshotCodec.encode(snapshot)
        let decoded = try SnapshotCodec.decode(bytes)
        XCTAssertEqual(decoded, snapshot)
        XCTAssertEqual(decoded.frames.filter(\.isAsync).count, S.callers.count + S.taskEntry.count)
        let sections = try SnapshotCodec.readSections(bytes, body: try SnapshotCodec.checkHeader(bytes))
        XCTAssertNotNil(sections[.asyncFrames])
        let synchronous = SnapshotCodec.encode(makeSnapshot([([S.slowAlloc, S.makeRecord], 700, 1)]))
        XCTAssertNil(try SnapshotCodec.readSections(synchronous, body: try SnapshotCodec.checkHeader(synchronous))[.asyncFrames])
    }
}

extension AsyncFramesTests {
    /// `--frames` small enough that the agent kept the async callers but
    /// not the executor: the task's entry thunk and the runtime still fold.
    func testStackCutBeforeTheJobRunnerLosesTheTaskEntry() {
        let cut = [S.slowAlloc, S.makeRecord] + S.callers + S.taskEntry.prefix(1)
        XCTAssertEqual(AllocatorFrames.fold(cut), [S.makeRecord] + S.callers)
    }
}
