import Foundation
import TallyCore
import TallyStore

/// Events as CSV or JSON lines. Every field a client sent is neutralised for spreadsheets and terminals: control
/// characters other than line breaks become `?`, a cell that starts with `=`, `+`, `-`, `@`, tab or CR gets a
/// leading `'` (CSV injection), and quotes are doubled.
public enum EventExport {
    public static let fieldNames = ["minCount", "currentCount", "machine", "cmid", "fingerprint", "clientTime", "licenseStatus",
                                    "sku", "minutesToExpiry", "vm", "address", "message", "domain", "rcode", "failure",
                                    "machines", "fingerprints", "newFingerprints", "machineCount", "remedy"]

    public static let csvHeader = (["seq", "id", "time", "result"] + fieldNames).joined(separator: ",")

    public static func csvLine(_ stored: StoredEvent) -> String {
        let event = stored.event
        let cells = [String(stored.seq), String(event.id.rawValue), ISO8601DateFormatter().string(from: event.time), event.result?.hex ?? ""]
            + fieldNames.map { event.fields[$0] ?? "" }
        return cells.map(csvCell).joined(separator: ",")
    }

    public static func csvCell(_ value: String) -> String {
        // Escape sequences never reach the admin's terminal or spreadsheet; line breaks stay (quoted below).
        var text = Sanitize.terminal(value, keepingLineBreaks: true)
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "'" }) {
            text = "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    public static func jsonLine(_ stored: StoredEvent) -> String {
        String(decoding: (try? TallyJSON.encode(stored)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

