/// A resource record type (RFC 1035 §3.2.2 and later RFCs); unknown values are kept as numbers.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(1)
    public static let ns = DNSRecordType(2)
    public static let cname = DNSRecordType(5)
    public static let soa = DNSRecordType(6)
    public static let ptr = DNSRecordType(12)
    public static let mx = DNSRecordType(15)
    public static let txt = DNSRecordType(16)
    public static let aaaa = DNSRecordType(28)
    public static let srv = DNSRecordType(33)
    public static let opt = DNSRecordType(41)
    public static let tsig = DNSRecordType(250)
    public static let any = DNSRecordType(255)

    static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT",
        250: "TSIG", 255: "ANY",
    ]

    /// `SRV`, or `TYPE65` for a type without a name here (RFC 3597).
    public var description: String { DNSRecordType.names[rawValue] ?? "TYPE\(rawValue)" }
}

/// A record class. Updates use NONE and ANY to delete; TSIG records are class ANY.
public struct DNSClass: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let internet = DNSClass(1)
    public static let none = DNSClass(254)
    public static let any = DNSClass(255)

    public var description: String {
        switch rawValue {
        case 1: "IN"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

/// A message's operation code (RFC 1035, RFC 2136).
public struct DNSOpcode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public init(_ rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let query = DNSOpcode(0)
    public static let notify = DNSOpcode(4)
    public static let update = DNSOpcode(5)

    public var description: String {
        switch rawValue {
        case 0: "QUERY"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        default: "OPCODE\(rawValue)"
        }
    }
}
