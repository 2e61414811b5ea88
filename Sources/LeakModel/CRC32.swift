/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum zlib
/// and gzip use, so a snapshot body can be checked with common tools.
public enum CRC32 {
    /// Slicing-by-8: entry `k * 256 + b` is the CRC of byte b followed by k
    /// zero bytes, so eight bytes take eight independent lookups instead of
    /// eight dependent ones (checking a 17 MB snapshot byte by byte took a
    /// sixth of reading it).
    private static let table: [UInt32] = {
        var table = (0..<256).map { n -> UInt32 in
            var c = UInt32(n)
            for _ in 0..<8 {
                c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
            }
            return c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = table[(k - 1) * 256 + n]
                table.append(table[Int(previous & 0xFF)] ^ (previous >> 8))
            }
        }
        return table
    }()

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        let crc = bytes.withContiguousStorageIfAvailable { update(0xFFFF_FFFF, $0) }
            ?? Array(bytes).withUnsafeBufferPointer { update(0xFFFF_FFFF, $0) }
        return crc ^ 0xFFFF_FFFF
    }

    private static func update(_ start: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var crc = start
            var i = 0
            while i + 8 <= bytes.count {
                let low = crc ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                let high = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < bytes.count {
                crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
            return crc
        }
    }
}
