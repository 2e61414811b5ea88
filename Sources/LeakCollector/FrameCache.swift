import Foundation
import LeakEvents
import LeakModel
import LeakPython
import LeakSymbols

/// Symbolizes every new stack as soon as the agent describes it, on its own
/// thread, while the target is alive: a snapshot taken after the target
/// exited still has names, files and lines.
final class FrameCache: @unchecked Sendable {
    private let pid: Int32
    private let condition = NSCondition()
    private var queue: [[UInt64]] = []
    private var busy = false
    private var frames: [UInt64: [Frame]] = [:]
    private var symbolizer: Symbolizer?
    private var symbolizerFailed = false
    /// When the last load failed (uptime ns): a load that fails (the target
    /// between two readable states of /proc, as when its main thread
    /// exits) is tried again for later stacks, not given up for good.
    private var symbolizerFailedAt: UInt64 = 0
    static let symbolizerRetryNanoseconds: UInt64 = 100_000_000
    /// Native addresses named address-only because no symbolizer could be
    /// loaded; named again once one loads (this thread only).
    private var unsymbolized: Set<UInt64> = []
    /// `unsymbolized` is not empty (read by `waitUntilIdle`).
    private var hasUnsymbolized = false
    /// A snapshot asked for one more try at the addresses still unnamed.
    private var retryRequested = false
    /// Python frame entries are read from the live interpreter (this thread only).
    private var python: PythonFrameResolver?
    private var pythonLooked = false
    private var wantsSymbolizer = false
    /// Bumped by `reset`: a batch symbolized against an older image is dropped.
    private var generation = 0
    private var symbolizerStale = false
    private var closed = false
    /// How long the symbolizer keeps its modules' files and debug data open
    /// after its last new address, at first. Most stacks show up early, and
    /// that data (libc's debug file alone: 17 MB) would otherwise be most of
    /// the collector's memory for the rest of the session. Opening libc's
    /// again costs about 65 ms of CPU, so each time new addresses come after
    /// a release the delay doubles, up to `longestReleaseDelay`: a program
    /// that keeps finding new stacks pays a few reopenings, not one per stack.
    static let firstReleaseDelay = 0.25
    static let longestReleaseDelay = 60.0

    /// Makes the symbolizer for a process; nil when it cannot now.
    typealias SymbolizerLoader = @Sendable (Int32) -> Symbolizer?
    private let makeSymbolizer: SymbolizerLoader

    init(pid: Int32, loader: @escaping SymbolizerLoader = { try? Symbolizer(pid: $0) }) {
        self.pid = pid
        makeSymbolizer = loader
        let thread = Thread { [self] in run() }
        thread.name = "swiftleak-symbols"
        thread.start()
    }

    /// Reads the target's module list now, while it surely lives (the agent
    /// just said hello): a short-lived target may be gone before its first
    /// stack is symbolized, and its modules' files outlive it.
    func prepare() {
        condition.withLock {
            wantsSymbolizer = true
            condition.broadcast()
        }
    }

    /// The process exec'd: its addresses now mean other code. Forgets every
    /// frame and re-reads the module list at the next `prepare`.
    func reset() {
        condition.withLock {
            generation += 1
            queue.removeAll()
            frames.removeAll()
            symbolizerStale = true
            wantsSymbolizer = false
            condition.broadcast()
        }
    }

    /// Ends the symbolizing thread (the session is over).
    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    func enqueue(_ stacks: [[UInt64]]) {
        condition.withLock {
            queue.append(contentsOf: stacks)
            condition.broadcast()
        }
    }

    /// Waits until every stack enqueued so far is symbolized (or `timeout`
    /// passed); addresses left unnamed because no symbolizer could be
    /// loaded get one more try first.
    func waitUntilIdle(timeout: Double) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        var retried = false
        while true {
            while !queue.isEmpty || busy || retryRequested {
                if !condition.wait(until: deadline) { return }
            }
            guard hasUnsymbolized && !retried && !closed else { return }
            retried = true
            retryRequested = true
            condition.broadcast()
        }
    }

    /// The frames for `ip`, one per inline level, innermost first;
    /// address-only when it could not be symbolized.
    func frames(for ip: UInt64) -> [Frame] {
        condition.withLock { frames[ip] } ?? [Frame(address: ip)]
    }

    private func run() {
        // Background work: on a busy machine the traced program, and the
        // event reader that keeps its ring from filling, go first (opening
        // libc's debug data alone costs some 65 ms of CPU, most of it while
        // the first stacks arrive). Linux keeps nice per thread: `who` 0 is
        // this thread only. Failing to lower it changes nothing that matters.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        /// When the symbolizer's open module data is to be released; nil while it holds none.
        var releaseAt: Date?
        var releaseDelay = Self.firstReleaseDelay
        var released = false
        while true {
            condition.lock()
            var idle = false
            while queue.isEmpty && !closed && !symbolizerStale && !retryRequested
                    && !(wantsSymbolizer && symbolizer == nil && !symbolizerFailed) {
                if let releaseAt {
                    idle = !condition.wait(until: releaseAt)
                    if idle { break }
                } else {
                    condition.wait()
                }
            }
            if closed {
                condition.unlock()
                return
            }
            if idle && queue.isEmpty && !symbolizerStale {
                condition.unlock()
                releaseAt = nil
                released = symbolizer?.releaseModuleData() ?? false
                continue
            }
            if symbolizerStale {
                // Only this thread uses the symbolizer: drop it here.
                releaseAt = nil
                symbolizerStale = false
                symbolizer = nil
                symbolizerFailed = false
                python = nil
                pythonLooked = false
                unsymbolized.removeAll()
                hasUnsymbolized = false
                condition.unlock()
                continue
            }
            if queue.isEmpty && !retryRequested {
                condition.unlock()
                loadSymbolizer()
                continue
            }
            // A retry a snapshot asked for is a batch too, maybe an empty one.
            let batch = queue
            queue.removeAll()
            let retry = retryRequested
            retryRequested = false
            busy = true
            let known = frames
            let batchGeneration = generation
            condition.unlock()

            if retry && symbolizer == nil { loadSymbolizer() }
            var resolved: [UInt64: [Frame]] = [:]
            var needsRefresh = false
            for ips in batch {
                for ip in ips where known[ip] == nil && resolved[ip] == nil {
                    let frames = symbolize(ip)
                    if frames[0].module == nil { needsRefresh = true }
                    resolved[ip] = frames
                }
            }
            for (ip, frames) in renameUnsymbolized() {
                if frames[0].module == nil { needsRefresh = true }
                resolved[ip] = frames
            }
            // An unknown module is usually one dlopen'ed since the last look at the maps.
            if needsRefresh, let symbolizer, (try? symbolizer.refresh()) != nil {
                for (ip, frames) in resolved where frames[0].module == nil {
                    resolved[ip] = symbolize(ip)
                }
            }
            if !resolved.isEmpty {
                if released { releaseDelay = min(releaseDelay * 2, Self.longestReleaseDelay) }
                released = false
                releaseAt = Date(timeIntervalSinceNow: releaseDelay)
            }

            condition.lock()
            if batchGeneration == generation {
                frames.merge(resolved) { _, new in new }
            }
            hasUnsymbolized = !unsymbolized.isEmpty
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    private func loadSymbolizer() {
        let loaded = makeSymbolizer(pid)
        condition.withLock {
            symbolizer = loaded
            symbolizerFailed = loaded == nil
            if loaded == nil { symbolizerFailedAt = DispatchTime.now().uptimeNanoseconds }
        }
    }

    /// Names again the addresses left unnamed for want of a symbolizer, once
    /// one is loaded; their frames, to merge over the address-only ones.
    private func renameUnsymbolized() -> [UInt64: [Frame]] {
        guard symbolizer != nil, !unsymbolized.isEmpty else { return [:] }
        let ips = unsymbolized
        unsymbolized.removeAll()
        var renamed: [UInt64: [Frame]] = [:]
        for ip in ips { renamed[ip] = symbolize(ip) }
        return renamed
    }

    private func symbolize(_ ip: UInt64) -> [Frame] {
        if PythonFrameResolver.isPythonEntry(ip) {
            if !pythonLooked {
                pythonLooked = true
                python = PythonFrameResolver(pid: pid)
            }
            return [python?.frame(for: ip) ?? Frame(module: PythonFrames.moduleName, address: ip)]
        }
        if symbolizer == nil
            && (!symbolizerFailed || DispatchTime.now().uptimeNanoseconds - symbolizerFailedAt >= Self.symbolizerRetryNanoseconds) {
            loadSymbolizer()
        }
        guard let symbolizer else {
            unsymbolized.insert(ip)
            return AsyncFrameEntry.isAsync(ip) ? [Frame(address: AsyncFrameEntry.address(ip), isAsync: true)] : [Frame(address: ip)]
        }
        if AsyncFrameEntry.isAsync(ip) {
            return symbolizer.frames(resumePoint: AsyncFrameEntry.address(ip))
        }
        // Every frame the agent sends is a return address (its own frames are
        // dropped), so the call instruction is at ip - 1.
        return symbolizer.frames(address: ip, isReturnAddress: true)
    }
}
