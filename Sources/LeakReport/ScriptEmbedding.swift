/// Makes JSON safe to place inside an HTML `<script>` element: no `</script>`
/// or `<!--` can end or change the element, no `&` can start a character
/// reference, and U+2028/U+2029 (line terminators to older JavaScript) are
/// escaped. In JSON these characters only occur inside strings, where the
/// `\uXXXX` forms read back the same.
enum ScriptEmbedding {
    static func escape(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
