/// A domain name as DNS carries it: labels of 1 to 63 bytes, at most 255 bytes on the wire, always absolute.
///
/// Names compare and hash without regard to ASCII case, as DNS does; the labels keep the case they were
/// written with.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    public static let maximumLabelLength = 63
    public static let maximumWireLength = 255

    /// The labels from the leftmost to the one under the root; empty for the root.
    public let labels: [[UInt8]]

    /// The root name, `.`.
    public static let root = DNSName(uncheckedLabels: [])

    init(uncheckedLabels labels: [[UInt8]]) {
        self.labels = labels
    }

    /// A name from raw labels, checked against the label and name limits.
    public init(labels: [[UInt8]]) throws(DNSMessageError) {
        var length = 1
        for label in labels {
            guard !label.isEmpty else { throw DNSMessageError(.badName, "a name has an empty label") }
            guard label.count <= DNSName.maximumLabelLength else {
                throw DNSMessageError(.labelTooLong, "a label is \(label.count) bytes long; the limit is 63")
            }
            length += 1 + label.count
        }
        guard length <= DNSName.maximumWireLength else {
            throw DNSMessageError(.nameTooLong, "a name is \(length) bytes long on the wire; the limit is 255")
        }
        self.labels = labels
    }

    /// Parses the presentation form: `_tally._tcp.example.com`, with or without the final dot; `.` is the root.
    /// `\.` and `\\` escape a character, `\DDD` gives a byte in decimal.
    public init(_ text: String) throws(DNSMessageError) {
        if text == "." {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var current: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        var sawEnd = false
        while let byte = bytes.popFirst() {
            guard !sawEnd else { throw DNSMessageError(.badName, "'\(text)' has an empty label") }
            switch byte {
            case UInt8(ascii: "."):
                guard !current.isEmpty else { throw DNSMessageError(.badName, "'\(text)' has an empty label") }
                labels.append(current)
                current = []
                if bytes.isEmpty { sawEnd = true }
            case UInt8(ascii: "\\"):
                guard let next = bytes.popFirst() else { throw DNSMessageError(.badName, "'\(text)' ends in a lone '\\'") }
                if next >= UInt8(ascii: "0"), next <= UInt8(ascii: "9") {
                    guard bytes.count >= 2, let d2 = bytes.popFirst(), let d3 = bytes.popFirst(),
                          (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d2), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(d3)
                    else { throw DNSMessageError(.badName, "'\(text)' has a '\\' escape that is not three digits") }
                    let value = Int(next - 48) * 100 + Int(d2 - 48) * 10 + Int(d3 - 48)
                    guard value <= 255 else { throw DNSMessageError(.badName, "'\(text)' escapes a value over 255") }
                    current.append(UInt8(value))
                } else {
                    current.append(next)
                }
            default:
                current.append(byte)
            }
        }
        if !current.isEmpty { labels.append(current) }
        guard !labels.isEmpty else { throw DNSMessageError(.badName, "an empty string is not a name") }
        try self.init(labels: labels)
    }

    /// The length of the name on the wire without compression.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    public var isRoot: Bool { labels.isEmpty }

    /// The name with its first label removed; `nil` for the root.
    public var parent: DNSName? {
        labels.isEmpty ? nil : DNSName(uncheckedLabels: Array(labels.dropFirst()))
    }

    /// `label.self`: a name one level deeper.
    public func prepending(_ label: String) throws(DNSMessageError) -> DNSName {
        try DNSName(labels: [Array(label.utf8)] + labels)
    }

    /// This name under `suffix`: `www` + `example.com` gives `www.example.com`.
    public func appending(_ suffix: DNSName) throws(DNSMessageError) -> DNSName {
        try DNSName(labels: labels + suffix.labels)
    }

    /// Whether this name is `other` or lies below it.
    public func isSubdomain(of other: DNSName) -> Bool {
        guard other.labels.count <= labels.count else { return false }
        return DNSName(uncheckedLabels: Array(labels.suffix(other.labels.count))) == other
    }

    /// The labels lower-cased (ASCII only), the form TSIG digests and comparisons use.
    public var canonicalLabels: [[UInt8]] { labels.map(DNSName.lowercased) }

    static func lowercased(_ label: [UInt8]) -> [UInt8] {
        label.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        for (a, b) in zip(lhs.labels, rhs.labels) where lowercased(a) != lowercased(b) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        for label in labels { hasher.combine(DNSName.lowercased(label)) }
    }

    /// The presentation form with the final dot; bytes outside printable ASCII, dots and backslashes escaped.
    public var description: String {
        guard !labels.isEmpty else { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: ";"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text.unicodeScalars.append(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            text += "."
        }
        return text
    }
}
