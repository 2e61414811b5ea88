import CElfutils
import Foundation
import LeakModel
import LeakProc

/// Resolves instruction addresses of one live process into self-contained
/// frames (function, file, line, module, address; one per inline level), so
/// that snapshots remain readable after the process is gone.
///
/// Backed by elfutils' libdwfl. Results are cached per address: a process has
/// few distinct allocation sites but repeats them endlessly. The instance is
/// safe to share between threads (calls are serialized; libdwfl is not
/// thread-safe).
public final class Symbolizer: @unchecked Sendable {
    private let pid: Int32
    private let lock = NSLock()
    /// libdwfl keeps pointers to the callbacks and the debuginfo path, so both
    /// live in manually allocated memory until `dwfl_end`.
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let debuginfoPath: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let dwfl: OpaquePointer
    /// Referenced (unretained) by every module's userdata; owned here.
    private let locator: ElfLocator
    private let resolver: AddressResolver
    /// The maps the current module list comes from; nil until reported.
    private var reportedMaps: ProcessMaps?
    private var cache: [CacheKey: [Frame]] = [:]

    private struct CacheKey: Hashable {
        var address: UInt64
        var isReturnAddress: Bool
        var isResumePoint = false
    }

    /// Opens the process and reads its module list.
    /// Throws `SymbolizerError` if /proc/PID/maps cannot be read.
    public init(pid: Int32) throws {
        self.pid = pid
        locator = ElfLocator(pid: pid)
        debuginfoPath = .allocate(capacity: 1)
        debuginfoPath.initialize(to: nil) // nil: libdwfl's default search path
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: locatingFindElf,
            find_debuginfo: inflatingFindDebuginfo,
            section_address: nil,
            debuginfo_path: debuginfoPath
        ))
        guard let dwfl = dwfl_begin(callbacks) else {
            callbacks.deallocate()
            debuginfoPath.deallocate()
            throw SymbolizerError.dwflFailure(pid: pid, reason: Self.dwflMessage())
        }
        self.dwfl = dwfl
        resolver = AddressResolver(dwfl: dwfl)
        try refresh()
    }

    deinit {
        // dwfl_end closes every ELF/DWARF handle and file it opened.
        dwfl_end(dwfl)
        callbacks.deallocate()
        debuginfoPath.deallocate()
    }

    /// Re-reads the process's module list (call before each snapshot:
    /// libraries may have been dlopen'ed). Cheap when nothing was (un)mapped.
    /// When /proc/PID/maps cannot be read nothing changes: frames of modules
    /// already loaded still resolve after the process has exited.
    public func refresh() throws {
        // The thread whose /proc entries are read may exit while libdwfl
        // reads them (a main thread calling pthread_exit): then its entries
        // read empty or fail, and another thread's are worth a new try.
        for attempt in 1...3 {
            if try report(retryable: attempt < 3) { return }
        }
    }

    /// Closes every module's files and frees what was read from them (libc's
    /// debug file alone decompresses to ~10 MB), keeping the module list and
    /// every frame already resolved; the next new address opens its module
    /// again. For a session that saw no new address for a while: its stacks
    /// are known, and the memory is the largest part of the collector's.
    /// Does nothing (false) when the process's maps cannot be read: modules
    /// could not be listed again, and those open now still resolve.
    @discardableResult
    public func releaseModuleData() -> Bool {
        var released = false
        for attempt in 1...3 where !released {
            released = (try? report(retryable: attempt < 3, droppingModules: true)) ?? false
        }
        // libdw's many small allocations sit in this thread's malloc arena,
        // which keeps freed pages until asked.
        returnFreedHeapPages()
        return released
    }

    /// One reading of the module list; false when the thread it went
    /// through began to exit meanwhile while another still runs.
    /// `droppingModules` frees every module first, so all are listed anew
    /// with nothing opened.
    private func report(retryable: Bool, droppingModules: Bool = false) throws -> Bool {
        let (maps, thread) = try ProcessMaps.read(pid: pid)
        lock.lock()
        defer { lock.unlock() }
        if maps == reportedMaps && !droppingModules { return true }

        locator.maps = maps
        locator.refreshRoot(thread)
        if droppingModules {
            // Modules not reported between begin and end are freed.
            dwfl_report_begin(dwfl)
            resolver.modulesChanged()
            _ = dwfl_report_end(dwfl, nil, nil)
        }
        // Modules reported again with the same name and range keep their
        // opened ELF and DWARF; the others are dropped by dwfl_report_end.
        dwfl_report_begin(dwfl)
        resolver.modulesChanged()
        // libdwfl reads /proc/ID/maps and auxv itself: the live thread's,
        // which are the process's even when its main thread has exited.
        let result = dwfl_linux_proc_report(dwfl, thread.id)
        _ = dwfl_report_end(dwfl, nil, nil)
        attachLocator(locator, to: dwfl)
        if retryable, thread.stat()?.isExitingOrExited != false,
           let other = ProcDirectory(pid: pid).liveThread(), other.path != thread.path {
            reportedMaps = nil
            return false
        }
        if result != 0 {
            // The process most likely exited between our read of the maps and
            // libdwfl's: modules it did not re-report are gone. Cached frames
            // stay (they were right when resolved); the next successful
            // refresh starts over.
            reportedMaps = nil
            let reason = result > 0 ? errnoDescription(result) : Self.dwflMessage()
            throw SymbolizerError.dwflFailure(pid: pid, reason: reason)
        }
        invalidateCache(from: reportedMaps, to: maps)
        reportedMaps = maps
        return true
    }

    /// ips[0] is the innermost frame (an exact instruction address); the
    /// others are return addresses, looked up at ip-1 (the call instruction)
    /// but reported unchanged. Each address gives one frame per inline level.
    public func symbolize(stack ips: [UInt64]) -> [Frame] {
        ips.enumerated().flatMap { index, ip in frames(address: ip, isReturnAddress: index > 0) }
    }

    /// The innermost of the address's frames (see `frames(address:isReturnAddress:)`).
    public func symbolize(address: UInt64, isReturnAddress: Bool) -> Frame {
        frames(address: address, isReturnAddress: isReturnAddress)[0]
    }

    /// One frame per inline level at the address, innermost first, the last
    /// one the real function; never empty: unknown addresses give one frame
    /// with the address only. Expanded once per address, then cached.
    public func frames(address: UInt64, isReturnAddress: Bool) -> [Frame] {
        let key = CacheKey(address: address, isReturnAddress: isReturnAddress)
        lock.lock()
        defer { lock.unlock() }
        if let frames = cache[key] { return frames }
        // A return address points after the call; ip-1 is inside the call
        // instruction, hence on the caller's line (and function, for noreturn calls).
        let lookup = isReturnAddress && address > 0 ? address - 1 : address
        let frames = resolver.frames(lookup: lookup, reported: address)
        cache[key] = frames
        return frames
    }

    /// The data symbol (global, vtable, type metadata) containing `address`;
    /// nil outside every module's data symbols. Not cached: the index per
    /// module is, and callers cache per address themselves.
    public func dataSymbol(at address: UInt64) -> DataSymbol? {
        lock.lock()
        defer { lock.unlock() }
        return resolver.dataSymbol(at: address)
    }

    /// The frames of a Swift async caller: `address` is the resume
    /// function's entry (from the task's async context chain), looked up as
    /// is, and named by the first line of its body when the entry has none.
    /// Every frame is marked async.
    public func frames(resumePoint address: UInt64) -> [Frame] {
        let key = CacheKey(address: address, isReturnAddress: false, isResumePoint: true)
        lock.lock()
        defer { lock.unlock() }
        if let frames = cache[key] { return frames }
        let frames = resolver.frames(lookup: address, reported: address, isFunctionEntry: true).map { frame in
            var frame = frame
            frame.isAsync = true
            return frame
        }
        cache[key] = frames
        return frames
    }

    /// If mappings only appeared, cached frames stay right except those that
    /// found no module (the address may now be in a new library). If any
    /// mapping went away, its addresses may now hold something else.
    private func invalidateCache(from old: ProcessMaps?, to new: ProcessMaps) {
        guard let old else {
            cache.removeAll(keepingCapacity: true)
            return
        }
        if Set(old.mappings).isSubset(of: Set(new.mappings)) {
            cache = cache.filter { $0.value[0].module != nil }
        } else {
            cache.removeAll(keepingCapacity: true)
        }
    }

    private static func dwflMessage() -> String {
        dwfl_errmsg(-1).map { String(cString: $0) } ?? "unknown libdwfl error"
    }
}
