/// Punycode decoding (RFC 3492, section 6.2), for the Unicode identifiers
/// of Rust's v0 symbols.
enum Punycode {
    private static let base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700
    private static let initialBias = 72, initialN = 128

    /// Decodes `encoded`: the basic (ASCII) code points up to the last
    /// `delimiter`, then the deltas that insert the others. Nil when it is not
    /// valid Punycode.
    static func decode(_ encoded: [UInt8], delimiter: UInt8 = UInt8(ascii: "-")) -> String? {
        var output: [Unicode.Scalar] = []
        var rest = encoded[...]
        if let split = encoded.lastIndex(of: delimiter) {
            for byte in encoded[..<split] {
                guard byte < 0x80 else { return nil }
                output.append(Unicode.Scalar(byte))
            }
            rest = encoded[(split + 1)...]
        }
        var n = initialN, bias = initialBias, i = 0
        var iterator = rest.makeIterator()
        while let firstByte = iterator.next() {
            let oldI = i
            var weight = 1
            var k = base
            var byte = firstByte
            while true {
                guard let digit = digitValue(byte) else { return nil }
                let (product, overflow1) = digit.multipliedReportingOverflow(by: weight)
                let (sum, overflow2) = i.addingReportingOverflow(product)
                guard !overflow1, !overflow2 else { return nil }
                i = sum
                let threshold = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                if digit < threshold { break }
                let (nextWeight, overflow3) = weight.multipliedReportingOverflow(by: base - threshold)
                guard !overflow3, let following = iterator.next() else { return nil }
                weight = nextWeight
                byte = following
                k += base
            }
            let length = output.count + 1
            bias = adapt(delta: i - oldI, points: length, first: oldI == 0)
            let (sum, overflow) = n.addingReportingOverflow(i / length)
            guard !overflow else { return nil }
            n = sum
            i %= length
            guard n <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(n)) else { return nil }
            output.insert(scalar, at: i)
            i += 1
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: output)
        return text
    }

    /// a-z (or A-Z) are 0-25, 0-9 are 26-35.
    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return Int(byte - UInt8(ascii: "a"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0")) + 26
        default: return nil
        }
    }

    private static func adapt(delta: Int, points: Int, first: Bool) -> Int {
        var delta = first ? delta / damp : delta / 2
        delta += delta / points
        var k = 0
        while delta > ((base - tMin) * tMax) / 2 {
            delta /= base - tMin
            k += base
        }
        return k + (base - tMin + 1) * delta / (delta + skew)
    }
}
