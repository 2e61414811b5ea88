import CElfutils
#if canImport(Glibc)
import Glibc
#endif

/// A module's .debug_aranges read as (address range, unit header offset)
/// rows, sorted, without reading any unit.
///
/// GCC emits the section (libc, most C libraries); LLVM does not. libdw's
/// `dwarf_getaranges` reads the header of every unit it names, which for a
/// file libdw maps makes nearly all of .debug_info resident at once (5.8 MB
/// for libc); this table only names the units, and a lookup reads the one
/// unit that holds its address.
struct ArangesTable {
    struct Row {
        var low: Dwarf_Addr
        var high: Dwarf_Addr
        /// Offset of the unit's header in .debug_info (not its DIE's).
        var unit: Dwarf_Off
    }

    private(set) var rows: [Row] = []

    /// Nil when the module has no .debug_aranges or it cannot be parsed
    /// (then every unit is scanned instead).
    init?(dwarf: OpaquePointer) {
        guard let bytes = Self.sectionBytes(dwarf: dwarf, name: ".debug_aranges") else { return nil }
        var reader = Reader(bytes: bytes)
        while reader.remaining > 0 {
            let setStart = reader.offset
            guard var length = reader.read(4) else { return nil }
            var offsetSize = 4
            if length == 0xffff_ffff {
                guard let long = reader.read(8) else { return nil }
                length = long
                offsetSize = 8
            }
            let setEnd = reader.offset + Int(clamping: length)
            guard setEnd <= bytes.count, let version = reader.read(2), version == 2,
                  let unit = reader.read(offsetSize), let addressSize = reader.read(1), let segmentSize = reader.read(1),
                  addressSize == 4 || addressSize == 8, segmentSize == 0
            else { return nil }
            // Tuples start at a multiple of their size from the set's start.
            let tuple = 2 * Int(addressSize)
            reader.offset = setStart + (reader.offset - setStart + tuple - 1) / tuple * tuple
            while reader.offset + tuple <= setEnd {
                guard let low = reader.read(Int(addressSize)), let size = reader.read(Int(addressSize)) else { return nil }
                if low == 0 && size == 0 { break }
                if size > 0 { rows.append(Row(low: low, high: low &+ size, unit: unit)) }
            }
            reader.offset = setEnd
        }
        guard !rows.isEmpty else { return nil }
        rows.sort { $0.low < $1.low }
    }

    /// The header offset of the unit whose row holds `address`.
    func unit(containing address: Dwarf_Addr) -> Dwarf_Off? {
        var lower = 0, upper = rows.count
        while lower < upper {
            let middle = (lower + upper) / 2
            if rows[middle].low <= address { lower = middle + 1 } else { upper = middle }
        }
        guard lower > 0, address < rows[lower - 1].high else { return nil }
        return rows[lower - 1].unit
    }

    /// A DWARF section's bytes as libdw reads them (inflated if it was
    /// compressed: libdw has done that when it opened the DWARF).
    private static func sectionBytes(dwarf: OpaquePointer, name: String) -> UnsafeRawBufferPointer? {
        guard let elf = dwarf_getelf(dwarf), let ident = elf_getident(elf, nil), ident[Int(EI_DATA)] == ELFDATA2LSB
        else { return nil }
        var shstrndx = 0
        guard elf_getshdrstrndx(elf, &shstrndx) == 0 else { return nil }
        var scn: OpaquePointer?
        while let section = elf_nextscn(elf, scn) {
            scn = section
            var header = GElf_Shdr()
            guard gelf_getshdr(section, &header) != nil, header.sh_type != SHT_NOBITS,
                  header.sh_flags & UInt64(SHF_COMPRESSED) == 0,
                  let sectionName = elf_strptr(elf, shstrndx, Int(header.sh_name)), String(cString: sectionName) == name,
                  let data = elf_rawdata(section, nil), let buffer = data.pointee.d_buf
            else { continue }
            return UnsafeRawBufferPointer(start: buffer, count: data.pointee.d_size)
        }
        return nil
    }

    /// Little-endian fields (the only byte order the symbolizer reads).
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        var remaining: Int { bytes.count - offset }

        mutating func read(_ size: Int) -> UInt64? {
            guard size <= remaining else { return nil }
            var value: UInt64 = 0
            for index in 0..<size { value |= UInt64(bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
    }
}
