/// CPython's location table (`co_linetable`, 3.11 and later; the format is
/// described in CPython's Objects/locations.md): one entry per run of code
/// units, each giving a line delta. Pure decoding, no I/O.
public enum LocationTable {
    /// The line of the code unit at `lastInstruction` (code units from the
    /// start of the bytecode); `firstLine` for a frame that has not started
    /// (-1), nil when the table has no location for it.
    public static func line(table: [UInt8], firstLine: Int, lastInstruction: Int) -> Int? {
        if lastInstruction < 0 { return firstLine }
        var line = firstLine
        var unit = 0
        var index = 0
        while index < table.count {
            let head = table[index]
            guard head & 0x80 != 0 else { return nil }   // lost sync: a broken table
            let code = Int(head >> 3) & 15
            let length = Int(head & 7) + 1
            index += 1
            var delta = 0
            switch code {
            case 15: break                                        // no location
            case 14:                                              // long form
                delta = signedVarint(table, &index)
                for _ in 0..<3 { _ = varint(table, &index) }
            case 13: delta = signedVarint(table, &index)          // no column
            case 10...12: delta = code - 10; index += 2            // one-line forms
            default: index += 1                                   // short forms
            }
            line += delta
            if lastInstruction < unit + length { return code == 15 ? nil : line }
            unit += length
        }
        return nil
    }

    /// Six bits a byte, least significant first, 0x40 = more follows.
    static func varint(_ table: [UInt8], _ index: inout Int) -> Int {
        var value = 0
        var shift = 0
        while index < table.count {
            let byte = Int(table[index])
            index += 1
            value |= (byte & 63) << shift
            shift += 6
            if byte & 64 == 0 || shift > 56 { break }
        }
        return value
    }

    static func signedVarint(_ table: [UInt8], _ index: inout Int) -> Int {
        let raw = varint(table, &index)
        return raw & 1 != 0 ? -(raw >> 1) : raw >> 1
    }
}
