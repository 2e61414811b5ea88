/// Where and how a profile goes to Grafana Pyroscope's ingest API:
/// `POST {base}/ingest?name=SERVICE{k=v,...}&from=S&until=S&format=pprof`,
/// the gzipped pprof profile as the body.
public struct PyroscopeIngest: Sendable {
    /// The server, e.g. http://pyroscope:4040 (a path prefix is kept).
    public let base: String
    public let service: String
    public let labels: [(key: String, value: String)]

    public struct BadTarget: Error, CustomStringConvertible {
        public let description: String
    }

    /// Checks what a user typed: an http(s) URL, a service name and k=v labels
    /// as Pyroscope's label syntax accepts them.
    public init(base: String, service: String, labels: [String]) throws {
        guard base.hasPrefix("http://") || base.hasPrefix("https://"),
              base.split(separator: "/", omittingEmptySubsequences: true).count >= 2 else {
            throw BadTarget(description: "'\(base)' is not an http:// or https:// URL (e.g. http://pyroscope:4040)")
        }
        guard !service.isEmpty, service.allSatisfy(Self.isNameCharacter) else {
            throw BadTarget(description: "service name '\(service)' must be letters, digits, '.', '-' or '_'")
        }
        var parsed: [(String, String)] = []
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy(Self.isNameCharacter),
                  !parts[1].isEmpty, !parts[1].contains(where: { "{},=\"".contains($0) }) else {
                throw BadTarget(description: "label '\(label)' must be key=value (key: letters, digits, '.', '-', '_'; value without {},=\")")
            }
            parsed.append((parts[0], parts[1]))
        }
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.service = service
        self.labels = parsed
    }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-" || c == "_")
    }

    /// The full URL for a profile covering `from`...`until` (Unix seconds).
    public func url(from: UInt64, until: UInt64) -> String {
        let name = service + "{" + labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
        let path = base.hasSuffix("/ingest") ? base : base + "/ingest"
        return "\(path)?name=\(Self.percentEncoded(name))&from=\(from)&until=\(until)&format=pprof"
    }

    /// Query-component encoding: everything but unreserved characters.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c)) {
                out.append(c)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
