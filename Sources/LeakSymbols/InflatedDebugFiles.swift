import CElfutils
import CLeakSys
import CZlib
import Foundation
import LeakProc
#if canImport(Glibc)
import Glibc
#endif

/// Copies of separate debug files with their compressed DWARF sections
/// stored inflated, each in an unlinked temporary file, one per debug file
/// for the process's lifetime: every symbolizer (one per traced process,
/// several with --follow-forks) reads the same copy.
///
/// Debian compresses its debug files (SHF_COMPRESSED, zlib), and libdw
/// (0.188) inflates every DWARF section it knows into memory of its own as
/// soon as a module's DWARF is opened: 10 MB for libc, of which a
/// symbolizer reads the few units that hold its addresses. Reading the
/// inflated copy instead, libdw maps the sections from a file: only the
/// pages it touches are resident, and they are the kernel's page cache,
/// which it can drop and read again, not memory of ours. Inflating is
/// done once per debug file (the zlib work libdw did, plus writing the
/// copy); reopening after `Symbolizer.releaseModuleData` reuses it, and so
/// do later swiftleak processes, through `DebugCopyCache` (14 MB for libc,
/// the original bytes and the inflated sections). Without a usable cache
/// the copy is an unlinked file that leaves nothing behind.
///
/// Only 64-bit little-endian files (this machine's) are copied; any other,
/// or any failure, leaves the original for libdw to inflate as before.
final class InflatedDebugFiles: @unchecked Sendable {
    static let shared = InflatedDebugFiles()

    private struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int
    }

    /// Each original's copy (or -1: nothing to inflate), kept open.
    private var copies: [Identity: Int32] = [:]
    /// Symbolizers run on their sessions' threads.
    private let lock = NSLock()
    private let directory: String
    let cache: DebugCopyCache?
    /// Copies inflated by this process (the rest came from the cache).
    private(set) var inflated = 0

    init(directory: String = InflatedDebugFiles.temporaryDirectory,
         cache: DebugCopyCache? = DebugCopyCache.fromEnvironment()) {
        self.directory = directory
        self.cache = cache
    }

    deinit {
        for fd in copies.values where fd >= 0 { close(fd) }
    }

    /// $TMPDIR, else /var/tmp: on disk where /tmp is a tmpfs (Debian 13,
    /// Fedora), whose pages would be memory again, if not ours.
    static var temporaryDirectory: String {
        guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/var/tmp" }
        return String(cString: value)
    }

    /// A new descriptor of the inflated copy of the file at `path`; nil
    /// when there is no such file, nothing in it to inflate, or no copy
    /// could be made (then libdw reads the file itself).
    func inflatedCopy(ofFileAt path: String) -> Int32? {
        let original = retryingInterrupted { open(path, O_RDONLY | O_CLOEXEC) }
        guard original >= 0 else { return nil }
        defer { close(original) }
        var info = stat()
        guard fstat(original, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let identity = Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino),
                                size: Int64(info.st_size), modified: info.st_mtim.tv_sec)
        lock.lock()
        let copy = copies[identity] ?? {
            let made = cachedCopy(of: original, at: path, identity: identity) ?? -1
            copies[identity] = made
            return made
        }()
        lock.unlock()
        guard copy >= 0 else { return nil }
        // libdwfl closes what it is given; the copy stays open here.
        let duplicate = fcntl(copy, F_DUPFD_CLOEXEC, 0)
        return duplicate >= 0 ? duplicate : nil
    }

    /// The copy another swiftleak process left in the cache, else one made
    /// now (in the cache when it can be, else unlinked in `directory`).
    private func cachedCopy(of original: Int32, at path: String, identity: Identity) -> Int32? {
        let size = Int(identity.size)
        let name = DebugCopyCache.name(path: path, size: identity.size, modified: identity.modified)
        guard let cache, let cacheDirectory = cache.usableDirectory() else {
            return makeCopy(of: original, size: size, in: directory)
        }
        if let fd = cache.open(name) {
            // The original's bytes, then what inflating added: never shorter.
            var info = stat()
            if fstat(fd, &info) == 0, info.st_size > identity.size { return fd }
            close(fd)
            cache.remove(name)   // cut short (a full disk?): made again below
        }
        if let made = makeCopy(of: original, size: size, in: cacheDirectory) {
            cache.publish(made, as: name)
            return made
        }
        return makeCopy(of: original, size: size, in: directory)
    }

    /// The inflated copy's descriptor, or nil when there is nothing to
    /// inflate or it could not be made.
    private func makeCopy(of original: Int32, size: Int, in directory: String) -> Int32? {
        guard var header = Self.read(Elf64_Ehdr.self, from: original, at: 0),
              header.e_ident.4 == UInt8(ELFCLASS64), header.e_ident.5 == UInt8(ELFDATA2LSB),
              Int(header.e_shentsize) == MemoryLayout<Elf64_Shdr>.size, header.e_shnum > 0,
              header.e_shoff < UInt64(size)
        else { return nil }
        var sections = [Elf64_Shdr](repeating: Elf64_Shdr(), count: Int(header.e_shnum))
        let tableSize = sections.count * MemoryLayout<Elf64_Shdr>.size
        guard sections.withUnsafeMutableBytes({ Self.readFully(original, into: $0, at: Int(header.e_shoff)) }) == tableSize
        else { return nil }
        // Every compressed section within the file, or no copy (a damaged
        // file is libdw's to refuse).
        let compressedInFile = sections.allSatisfy {
            $0.sh_flags & UInt64(SHF_COMPRESSED) == 0 || $0.sh_type == SHT_NOBITS
                || ($0.sh_offset <= UInt64(size) && $0.sh_size <= UInt64(size) - $0.sh_offset)
        }
        guard compressedInFile else { return nil }
        let compressed = sections.indices.filter {
            sections[$0].sh_flags & UInt64(SHF_COMPRESSED) != 0 && sections[$0].sh_type != SHT_NOBITS
        }
        guard !compressed.isEmpty else { return nil }
        let copy = sl_open_unlinked(directory)
        guard copy >= 0 else { return nil }
        // The original bytes stay where they are (section headers keep
        // pointing at them); the inflated sections and a new header table
        // follow them.
        var end = size
        guard Self.copyFile(original, to: copy, size: size) else { close(copy); return nil }
        for index in compressed {
            guard let placed = Self.appendInflated(section: sections[index], from: original, to: copy, at: &end) else {
                close(copy)
                return nil
            }
            sections[index] = placed
        }
        end = Self.pad(copy, from: end, alignment: 8)
        guard end >= 0 else { close(copy); return nil }
        header.e_shoff = UInt64(end)
        let written = sections.withUnsafeBytes { Self.writeFully(copy, $0, at: end) }
            && withUnsafeBytes(of: &header) { Self.writeFully(copy, $0, at: 0) }
        guard written else { close(copy); return nil }
        inflated += 1
        return copy
    }

    /// Inflates one SHF_COMPRESSED section to the end of `copy`; returns its
    /// header as an uncompressed section there.
    private static func appendInflated(section: Elf64_Shdr, from original: Int32, to copy: Int32, at end: inout Int) -> Elf64_Shdr? {
        // Sizes a damaged header could make absurd: at most 4 GiB inflated,
        // aligned to at most a page.
        guard let chdr = read(Elf64_Chdr.self, from: original, at: Int(section.sh_offset)),
              chdr.ch_type == UInt32(ELFCOMPRESS_ZLIB), chdr.ch_size <= 1 << 32, chdr.ch_addralign <= 4096,
              section.sh_size >= UInt64(MemoryLayout<Elf64_Chdr>.size)
        else { return nil }
        let inflatedSize = Int(chdr.ch_size)
        let start = pad(copy, from: end, alignment: max(Int(chdr.ch_addralign), 1))
        guard start >= 0, inflate(from: original, at: Int(section.sh_offset) + MemoryLayout<Elf64_Chdr>.size,
                                  count: Int(section.sh_size) - MemoryLayout<Elf64_Chdr>.size,
                                  to: copy, at: start, expected: inflatedSize)
        else { return nil }
        end = start + inflatedSize
        var placed = section
        placed.sh_offset = UInt64(start)
        placed.sh_size = chdr.ch_size
        placed.sh_addralign = chdr.ch_addralign
        placed.sh_flags &= ~UInt64(SHF_COMPRESSED)
        return placed
    }

    private static let chunk = 64 * 1024

    /// Streams the zlib stream of `count` bytes at `offset` into `copy` at
    /// `start`, 64 KiB at a time; true when it inflated to `expected` bytes.
    private static func inflate(from original: Int32, at offset: Int, count: Int, to copy: Int32, at start: Int, expected: Int) -> Bool {
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { input.deallocate(); output.deallocate() }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return false }
        defer { inflateEnd(&stream) }
        var consumed = 0, produced = 0
        while true {
            if stream.avail_in == 0 {
                let want = min(chunk, count - consumed)
                guard want > 0, readFully(original, into: UnsafeMutableRawBufferPointer(start: input, count: want), at: offset + consumed) == want
                else { return false }
                consumed += want
                stream.next_in = input
                stream.avail_in = UInt32(want)
            }
            stream.next_out = output
            stream.avail_out = UInt32(chunk)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END else { return false }
            let made = chunk - Int(stream.avail_out)
            guard produced + made <= expected,
                  writeFully(copy, UnsafeRawBufferPointer(start: output, count: made), at: start + produced)
            else { return false }
            produced += made
            if status == Z_STREAM_END { return produced == expected }
        }
    }

    private static func read<Value>(_ type: Value.Type, from fd: Int32, at offset: Int) -> Value? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: MemoryLayout<Value>.size, alignment: MemoryLayout<Value>.alignment)
        defer { buffer.deallocate() }
        guard readFully(fd, into: buffer, at: offset) == buffer.count else { return nil }
        return buffer.load(as: Value.self)
    }

    /// Bytes read (fewer only at the end of the file), or -1.
    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var done = 0
        while done < buffer.count {
            let got = retryingInterrupted { pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done)) }
            if got < 0 { return -1 }
            if got == 0 { break }
            done += got
        }
        return done
    }

    private static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        var done = 0
        while done < bytes.count {
            let wrote = retryingInterrupted { pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if wrote <= 0 { return false }
            done += wrote
        }
        return true
    }

    /// `end` rounded up to `alignment` (the gap reads as zeros), or -1.
    private static func pad(_ fd: Int32, from end: Int, alignment: Int) -> Int {
        guard end >= 0 else { return -1 }
        let aligned = (end + alignment - 1) / alignment * alignment
        return ftruncate(fd, off_t(aligned)) == 0 ? aligned : -1
    }

    /// The kernel copies when it can (no page of the file in our memory);
    /// 64 KiB at a time through a buffer when not (another file system).
    private static func copyFile(_ original: Int32, to copy: Int32, size: Int) -> Bool {
        var inputOffset: Int64 = 0, outputOffset: Int64 = 0
        while Int(inputOffset) < size {
            let copied = retryingInterrupted { sl_copy_file_range(original, &inputOffset, copy, &outputOffset, size - Int(inputOffset)) }
            if copied == 0 { return false }
            if copied < 0 { break }
        }
        guard Int(inputOffset) < size else { return true }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var done = Int(inputOffset)
        while done < size {
            let got = readFully(original, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(chunk, size - done)]), at: done)
            guard got > 0, writeFully(copy, UnsafeRawBufferPointer(rebasing: buffer[..<got]), at: done) else { return false }
            done += got
        }
        return true
    }
}

/// The `find_debuginfo` callback given to libdwfl: a module's debug file
/// found by its build ID is read through its inflated copy (see
/// `InflatedDebugFiles`); anything else is libdwfl's standard search.
/// (That search cannot be asked first: it opens the file it finds and
/// keeps that handle, so a copy would never be read.)
let inflatingFindDebuginfo: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<CChar>?, Dwarf_Addr,
    UnsafePointer<CChar>?, UnsafePointer<CChar>?, GElf_Word, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 = { module, userdata, name, base, fileName, debuglink, crc, debugName in
    // libdwfl asks for a dwz alt file with the alt name and CRC 0; that
    // file is not the module's build ID's.
    let asksForAltFile = debuglink != nil && crc == 0
    var bits: UnsafePointer<UInt8>?
    var vaddr: GElf_Addr = 0
    let length = module.map { dwfl_module_build_id($0, &bits, &vaddr) } ?? 0
    let id = UnsafeRawBufferPointer(start: bits, count: Int(max(length, 0)))
    if !asksForAltFile, length > 0, let path = BuildID.debugFilePath(id),
       let fd = InflatedDebugFiles.shared.inflatedCopy(ofFileAt: path) {
        // As the standard search does: a file under another build ID (a
        // stale link) is not this module's.
        if BuildID.matches(fd: fd, id) {
            // libdwfl frees it; it names the module's debug file.
            debugName?.pointee = strdup(path)
            return fd
        }
        close(fd)
    }
    return dwfl_standard_find_debuginfo(module, userdata, name, base, fileName, debuglink, crc, debugName)
}
