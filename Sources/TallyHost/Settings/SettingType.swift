import Foundation
import TallyCore
import TallyDNS
import TallyStore

/// The type of one setting's value: how `tally host set` text becomes a value (refusing what is out of range)
/// and how a value is shown. A value read from `settings.json` is checked by formatting and parsing it again,
/// so the file and `tally host set` accept exactly the same values.
public struct SettingType<Value: Codable & Equatable & Sendable>: Sendable {
    /// What `--help` says the value looks like: `15...43200`, `on or off`, `ADDR:PORT`.
    public var syntax: String
    /// Text to value; throws a usage error without the setting's name (the row adds it).
    public var parse: @Sendable (String) throws(TallyError) -> Value
    /// Value to the text `parse` takes back.
    public var format: @Sendable (Value) -> String

    public init(syntax: String, parse: @escaping @Sendable (String) throws(TallyError) -> Value,
                format: @escaping @Sendable (Value) -> String) {
        self.syntax = syntax
        self.parse = parse
        self.format = format
    }

    static func refuse(_ text: String, _ wanted: String) -> TallyError {
        TallyError(.usageError, "must be \(wanted), not '\(text)'")
    }
}

extension SettingType where Value == Int {
    /// A whole number in `range`.
    public static func integer(_ range: ClosedRange<Int>) -> SettingType {
        let wanted = "a whole number in \(range.lowerBound)...\(range.upperBound)"
        return SettingType(syntax: "\(range.lowerBound)...\(range.upperBound)", parse: { (text: String) throws(TallyError) -> Int in
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else { throw refuse(text, wanted) }
            return number
        }, format: { String($0) })
    }
}

extension SettingType where Value == Bool {
    /// `on`/`off` (also true/false, yes/no, 1/0).
    public static let flag = SettingType(syntax: "on or off", parse: { (text: String) throws(TallyError) -> Bool in
        switch text.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw refuse(text, "on or off")
        }
    }, format: { $0 ? "on" : "off" })
}

extension SettingType where Value == String {
    /// Any text that is not empty.
    public static let text = SettingType(syntax: "TEXT", parse: { (text: String) throws(TallyError) -> String in
        guard !text.isEmpty else { throw TallyError(.usageError, "must not be empty") }
        return text
    }, format: { $0 })

    /// A file path (relative paths are relative to the state directory where the reader says so).
    public static let path = SettingType(syntax: "PATH", parse: text.parse, format: { $0 })

    /// The vendor's online service: `https://HOST[:PORT][/PATH]` (`http://` only for localhost).
    public static let vendorURL = SettingType(syntax: "URL", parse: { (text: String) throws(TallyError) -> String in
        guard let url = VendorURL(text) else { throw refuse(text, "https://HOST[:PORT][/PATH] (http:// only for localhost)") }
        return url.description
    }, format: { $0 })

    /// An address to listen on, `ADDR:PORT`.
    public static let bindAddress = SettingType(syntax: "ADDR:PORT", parse: { (text: String) throws(TallyError) -> String in
        _ = try BindAddress(text)
        return text
    }, format: { $0 })

    /// `ADDR:PORT`, or `none` (also `off`) for not listening at all.
    public static let bindAddressOrNone = SettingType(syntax: "ADDR:PORT or none", parse: { (text: String) throws(TallyError) -> String in
        if ["none", "off"].contains(text) { return "none" }
        return try bindAddress.parse(text)
    }, format: { $0 })

    /// `sqlite`, or a PostgreSQL store's URL without a password.
    public static let store = SettingType(syntax: "sqlite or postgresql://USER@HOST:PORT/DB", parse: { (text: String) throws(TallyError) -> String in
        if text == "sqlite" { return text }
        return try PostgresStoreURL(parsing: text).description
    }, format: { $0 })

    /// One of `choices`.
    public static func choice(_ choices: [String]) -> SettingType {
        let wanted = choices.dropLast().joined(separator: ", ") + " or " + (choices.last ?? "")
        return SettingType(syntax: wanted, parse: { (text: String) throws(TallyError) -> String in
            guard choices.contains(text) else { throw refuse(text, wanted) }
            return text
        }, format: { $0 })
    }

    /// A DNS host name.
    public static let dnsName = SettingType(syntax: "NAME", parse: { (text: String) throws(TallyError) -> String in
        guard !text.isEmpty, (try? DNSName(text)) != nil else { throw refuse(text, "a host name") }
        return text
    }, format: { $0 })

    /// A name server, `ADDR[:PORT]`.
    public static let serverAddress = SettingType(syntax: "ADDR[:PORT]", parse: { (text: String) throws(TallyError) -> String in
        do throws(DNSError) { _ = try DNSServerAddress(parsing: text) } catch { throw TallyError(.usageError, error.detail) }
        return text
    }, format: { $0 })

    /// An IPv4 or IPv6 address.
    public static let ipAddress = SettingType(syntax: "ADDR", parse: { (text: String) throws(TallyError) -> String in
        guard DNSIPv4Address(text) != nil || DNSIPv6Address(text) != nil else { throw refuse(text, "an IPv4 or IPv6 address") }
        return text
    }, format: { $0 })

    /// An SRV service label: letters, digits, `-` and `_`, at most 62.
    public static let serviceLabel = SettingType(syntax: "LABEL", parse: { (text: String) throws(TallyError) -> String in
        guard !text.isEmpty, text.count <= 62, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw refuse(text, "a service label (letters, digits, - and _, at most 62)")
        }
        return text
    }, format: { $0 })
}

extension SettingType {
    /// `wrapped`, or `none` for no value.
    public static func optional<Wrapped>(_ wrapped: SettingType<Wrapped>) -> SettingType where Value == Wrapped? {
        SettingType(syntax: "\(wrapped.syntax) or none", parse: { (text: String) throws(TallyError) -> Wrapped? in
            text == "none" ? nil : try wrapped.parse(text)
        }, format: { $0.map(wrapped.format) ?? "none" })
    }

    /// Values of `element` separated by commas, or `none` for the empty list.
    public static func list<Element>(_ element: SettingType<Element>) -> SettingType where Value == [Element] {
        SettingType(syntax: "\(element.syntax),... or none", parse: { (text: String) throws(TallyError) -> [Element] in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "none" { return [] }
            var values: [Element] = []
            for item in trimmed.split(separator: ",") { values.append(try element.parse(item.trimmingCharacters(in: .whitespaces))) }
            return values
        }, format: { $0.isEmpty ? "none" : $0.map(element.format).joined(separator: ",") })
    }
}

extension SettingType where Value == [DNSPublishEntry] {
    /// `DOMAIN[:PRIORITY[:WEIGHT]],...` or `none`.
    public static let publishList = SettingType(syntax: "DOMAIN[:PRIORITY[:WEIGHT]],... or none", parse: { (text: String) throws(TallyError) -> [DNSPublishEntry] in
        try DNSPublishEntry.parseList(text)
    }, format: { $0.isEmpty ? "none" : $0.map(\.description).joined(separator: ",") })
}
