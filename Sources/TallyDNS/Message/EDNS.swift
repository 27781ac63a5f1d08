/// EDNS(0) as an OPT pseudo-record carries it (RFC 6891): the UDP payload size this side can take, the upper
/// bits of the response code, the version and the DO flag.
public struct EDNS: Sendable, Hashable {
    /// 1232 bytes fits in one IPv6 packet without fragmentation (the DNS flag day 2020 value).
    public static let defaultUDPPayloadSize: UInt16 = 1232

    public var udpPayloadSize: UInt16
    public var extendedResponseCode: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    public var options: [EDNSOption]

    public init(udpPayloadSize: UInt16 = EDNS.defaultUDPPayloadSize, extendedResponseCode: UInt8 = 0, version: UInt8 = 0,
                dnssecOK: Bool = false, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedResponseCode = extendedResponseCode
        self.version = version
        self.dnssecOK = dnssecOK
        self.options = options
    }

    /// Reads an OPT record; `nil` for any other record.
    public init?(record: DNSResourceRecord) {
        guard record.type == .opt else { return nil }
        udpPayloadSize = record.class.rawValue
        extendedResponseCode = UInt8(record.ttl >> 24)
        version = UInt8((record.ttl >> 16) & 0xFF)
        dnssecOK = record.ttl & 0x8000 != 0
        if case .opt(let options) = record.data { self.options = options } else { options = [] }
    }

    /// The OPT record: owner the root, class the payload size, TTL the flags.
    public var record: DNSResourceRecord {
        let ttl = UInt32(extendedResponseCode) << 24 | UInt32(version) << 16 | (dnssecOK ? 0x8000 : 0)
        return DNSResourceRecord(name: .root, type: .opt, class: DNSClass(max(512, udpPayloadSize)), ttl: ttl, data: .opt(options))
    }
}
