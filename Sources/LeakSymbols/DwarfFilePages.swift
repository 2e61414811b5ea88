import CElfutils
#if canImport(Glibc)
import Glibc
#endif

/// Gives back the pages of a module's DWARF sections that libdw read from
/// its file's mapping.
///
/// libdw maps the file libelf opened (privately) and reads the sections in
/// place; building a module's unit index reads a little of every unit,
/// which makes nearly all of .debug_info resident (5.8 MB for libc), and a
/// compressed section's bytes stay resident after libdw inflated them.
/// Pages of a private file mapping that nobody wrote are dropped by
/// MADV_DONTNEED and read from the file again when touched, so this cannot
/// change what libelf or libdw see. Relocatable files (ET_REL, whose DWARF
/// libdwfl relocates by writing into it) are left alone.
enum DwarfFilePages {
    /// Call once a batch of reading is done (the pages come back as read).
    static func release(dwarf: OpaquePointer) {
        guard let elf = dwarf_getelf(dwarf) else { return }
        var mapSize = 0
        // A file libelf could not map has no pages to give back (and
        // elf_rawfile would read it all into memory).
        guard elf_kind(elf) == ELF_K_ELF, let map = elf_rawfile(elf, &mapSize), mapSize > 0 else { return }
        var shstrndx = 0
        var ehdr = GElf_Ehdr()
        guard elf_getshdrstrndx(elf, &shstrndx) == 0, gelf_getehdr(elf, &ehdr) != nil,
              ehdr.e_type == ET_EXEC || ehdr.e_type == ET_DYN
        else { return }
        // A section's file bytes end where the next thing in the file starts.
        var starts: [UInt64] = []
        var dwarfSections: [UInt64] = []
        var scn: OpaquePointer?
        while let section = elf_nextscn(elf, scn) {
            scn = section
            var header = GElf_Shdr()
            guard gelf_getshdr(section, &header) != nil, header.sh_type != SHT_NOBITS else { continue }
            starts.append(header.sh_offset)
            guard let name = elf_strptr(elf, shstrndx, Int(header.sh_name)),
                  strncmp(name, ".debug_", 7) == 0 || strncmp(name, ".zdebug_", 8) == 0 else { continue }
            dwarfSections.append(header.sh_offset)
        }
        guard !dwarfSections.isEmpty else { return }
        starts.append(ehdr.e_shoff)
        starts.append(UInt64(mapSize))
        starts.sort()
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        for offset in dwarfSections {
            guard offset < UInt64(mapSize), let end = starts.first(where: { $0 > offset }) else { continue }
            // Whole pages only: a page shared with a neighbour may hold data
            // libelf still points to, or section headers it rewrote.
            let first = (offset + page - 1) / page * page
            let last = end / page * page
            guard last > first else { continue }
            _ = madvise(map + Int(first), Int(last - first), MADV_DONTNEED)
        }
    }
}
