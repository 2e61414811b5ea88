import CLeakSys
import Glibc
import LeakProc

/// A process whose threads are stopped with PTRACE_SEIZE + PTRACE_INTERRUPT
/// so its memory can be copied consistently. Read only: no code runs in the
/// target and no register is changed, so a thread interrupted inside a system
/// call restarts it when let go. All calls must come from the OS thread that
/// paused it (the kernel ties the tracer to a thread).
public final class PausedProcess {
    /// One stopped thread's registers, as raw words for a conservative scan.
    public struct ThreadState: Sendable {
        public let tid: Int32
        public let stackPointer: UInt64
        /// General registers (fs_base, the TLS pointer, among them) and the
        /// XSAVE area: a pointer may live only in a vector register.
        public let registerBytes: [UInt8]
    }

    public let pid: Int32
    private var held: [TracedThread] = []
    public private(set) var threads: [ThreadState] = []
    /// When the first thread was stopped.
    public let pausedAt: Double

    /// Stops every thread of `pid` whose id `include` accepts; threads
    /// started meanwhile are caught by looking again until none is new.
    public init(pid: Int32, include: (Int32) -> Bool = { _ in true }) throws {
        self.pid = pid
        pausedAt = Clock.now()
        do {
            try pauseMore(include: include)
        } catch {
            resume()
            throw error
        }
    }

    /// Stops the threads not stopped yet that `include` accepts.
    public func pauseMore(include: (Int32) -> Bool) throws {
        var seen = Set(held.map(\.tid))
        while true {
            let fresh = ProcDirectory(pid: pid).taskIDs().filter { !seen.contains($0) && include($0) }
            if fresh.isEmpty { return }
            for tid in fresh {
                seen.insert(tid)
                if let thread = try Self.stop(pid: pid, tid: tid) {
                    held.append(thread)
                    threads.append(try Self.state(of: thread))
                }
            }
        }
    }

    /// Copies `length` bytes at `address`; pages that cannot be read are zeros.
    /// Returns the bytes and how many could not be read.
    public func read(address: UInt64, length: Int) -> (bytes: [UInt8], unreadable: Int) {
        var unreadable = 0
        // Not zero-filled first: for a heap of gigabytes that costs as much
        // as the copy, and the target is paused meanwhile.
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            unreadable = read(address: address, into: UnsafeMutableRawBufferPointer(buffer))
            count = length
        }
        return (bytes, unreadable)
    }

    /// Fills `buffer` from `address`; returns how many bytes could not be read (left zero).
    public func read(address: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var unreadable = 0
        let reader = held.first?.tid ?? pid
        let length = buffer.count
        var offset = 0
        while offset < length {
            let n = sl_process_read(reader, address + UInt64(offset), buffer.baseAddress! + offset, length - offset)
            if n > 0 {
                offset += n
                continue
            }
            // A page that faults (a file mapping past its end): zeros.
            let skip = min(length - offset, 4096 - Int((address + UInt64(offset)) & 4095))
            (buffer.baseAddress! + offset).initializeMemory(as: UInt8.self, repeating: 0, count: skip)
            unreadable += skip
            offset += skip
        }
        return unreadable
    }

    /// Lets every thread go, with the signals that arrived meanwhile.
    public func resume() {
        for thread in held { thread.detach() }
        held = []
    }

    deinit { resume() }

    private static func stop(pid: Int32, tid: Int32) throws -> TracedThread? {
        let thread: TracedThread
        do {
            thread = try TracedThread.seize(pid: pid, tid: tid)
        } catch InjectError.targetExited {
            return nil
        }
        do {
            try thread.interrupt()
            // A thread in uninterruptible sleep stops when it wakes; a scan
            // waits for it a while, not forever. A group-stop (job control)
            // holds it still just as well as ours.
            switch try thread.waitForInterruptStop(deadline: Clock.now() + 10) {
            case .gone:
                return nil
            case .stopped, .groupStop:
                return thread
            case .timedOut:
                thread.detach()
                throw InjectError.ptraceFailed(operation: "INTERRUPT (no stop within 10 s)", tid: tid, errno: ETIMEDOUT)
            }
        } catch InjectError.targetExited {
            return nil
        }
    }

    private static func state(of thread: TracedThread) throws -> ThreadState {
        let saved = try thread.saveState()
        var bytes = withUnsafeBytes(of: saved.regs) { Array($0) }
        if let xstate = saved.xstate {
            bytes += xstate
        } else if let fp = saved.fpregs {
            bytes += withUnsafeBytes(of: fp) { Array($0) }
        }
        return ThreadState(tid: thread.tid, stackPointer: saved.regs.rsp, registerBytes: bytes)
    }
}
