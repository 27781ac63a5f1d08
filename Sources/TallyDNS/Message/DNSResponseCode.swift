/// A response code: the 4 bits of the header, extended to 12 bits by EDNS, and the 16-bit TSIG error field
/// (RFC 1035, RFC 2136, RFC 6891, RFC 8945).
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(0)
    public static let formatError = DNSResponseCode(1)
    public static let serverFailure = DNSResponseCode(2)
    public static let nameError = DNSResponseCode(3)
    public static let notImplemented = DNSResponseCode(4)
    public static let refused = DNSResponseCode(5)
    public static let yxDomain = DNSResponseCode(6)
    public static let yxRRSet = DNSResponseCode(7)
    public static let nxRRSet = DNSResponseCode(8)
    public static let notAuth = DNSResponseCode(9)
    public static let notZone = DNSResponseCode(10)
    /// BADVERS in an OPT record, BADSIG in a TSIG record: the two share the number.
    public static let badSignature = DNSResponseCode(16)
    public static let badKey = DNSResponseCode(17)
    public static let badTime = DNSResponseCode(18)
    public static let badMode = DNSResponseCode(19)
    public static let badName = DNSResponseCode(20)
    public static let badAlgorithm = DNSResponseCode(21)
    public static let badTruncation = DNSResponseCode(22)
    public static let badCookie = DNSResponseCode(23)

    static let names: [UInt16: String] = [
        0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
        7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME",
        19: "BADMODE", 20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
    ]

    /// The mnemonic an administrator sees in `dig` and BIND's log, e.g. `REFUSED`, `BADSIG`.
    public var description: String { DNSResponseCode.names[rawValue] ?? "RCODE\(rawValue)" }
}
