import Foundation
import XCTest

/// Renders a local HTML file in Debian's chromium, headless, and reports
/// what the page did: its DOM after scripts ran, its console messages, and
/// every request it started (the browser's own update checks are not the
/// page's: their initiator is "not an origin").
struct HeadlessChromium {
    static let executable = "/usr/bin/chromium"

    var dom: String
    var consoleLines: [String]
    var pageRequests: [String]

    /// `fragment` goes after "#" in the page's URL.
    static func render(_ htmlPath: String, fragment: String = "", scratch: String, file: StaticString = #filePath, line: UInt = #line) throws -> HeadlessChromium {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            XCTFail("\(executable) is missing: run Scripts/setup (it installs chromium)", file: file, line: line)
            throw CancellationError()
        }
        let netLog = scratch + "/net-log.json"
        let result = try runCommand(executable, [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=\(scratch)/profile", "--virtual-time-budget=5000",
            "--enable-logging=stderr", "--v=0", "--log-net-log=\(netLog)",
            "--dump-dom", "file://" + htmlPath + (fragment.isEmpty ? "" : "#" + fragment),
        ], timeout: 60)
        XCTAssertEqual(result.status, 0, "chromium failed: \(result.stderr)", file: file, line: line)
        let console = result.stderr.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
        return HeadlessChromium(dom: result.stdout, consoleLines: console, pageRequests: try requests(netLog))
    }

    /// URLs of requests a document started, from chromium's NetLog.
    static func requests(_ netLog: String) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: netLog)))
        guard let log = object as? [String: Any], let events = log["events"] as? [[String: Any]],
              let constants = log["constants"] as? [String: Any], let types = constants["logEventTypes"] as? [String: Int],
              let startJob = types["URL_REQUEST_START_JOB"] else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: netLog])
        }
        return events.compactMap { event -> String? in
            guard event["type"] as? Int == startJob, let params = event["params"] as? [String: Any] else { return nil }
            let initiator = params["initiator"] as? String ?? "not an origin"
            return initiator == "not an origin" ? nil : "\(params["url"] ?? "?") from \(initiator)"
        }
    }

    /// The value of `name="..."` on the first element that has it.
    func attribute(_ name: String) -> String? {
        guard let start = dom.range(of: name + "=\"") else { return nil }
        return dom[start.upperBound...].prefix { $0 != "\"" }.description
    }
}
