/// The data of an SRV record (RFC 2782).
public struct SRVData: Sendable, Hashable, CustomStringConvertible {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// The host; the root name `.` says the service is decidedly not available in the domain.
    public var target: DNSName

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }

    public var description: String { "\(priority) \(weight) \(port) \(target)" }
}

/// The data of an SOA record: the zone's primary name server (MNAME) is where updates go.
public struct SOAData: Sendable, Hashable {
    public var primary: DNSName
    public var responsible: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(primary: DNSName, responsible: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.primary = primary
        self.responsible = responsible
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// The data of a TSIG record (RFC 8945 §4.2).
public struct TSIGData: Sendable, Hashable {
    public var algorithm: DNSName
    /// Seconds since the Unix epoch; 48 bits on the wire.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    /// The TSIG error: BADSIG, BADKEY, BADTIME…; NOERROR when the signature was accepted.
    public var error: DNSResponseCode
    /// With BADTIME, the server's time (48 bits).
    public var otherData: [UInt8]

    public init(algorithm: DNSName, timeSigned: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16,
                error: DNSResponseCode = .noError, otherData: [UInt8] = []) {
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }
}

/// One EDNS option (RFC 6891 §6.1.2), kept as bytes.
public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]

    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }
}

/// An IPv4 address as an A record holds it.
public struct DNSIPv4Address: Sendable, Hashable, CustomStringConvertible {
    public let octets: [UInt8]

    public init?(octets: [UInt8]) {
        guard octets.count == 4 else { return nil }
        self.octets = octets
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }
}

/// An IPv6 address as an AAAA record holds it.
public struct DNSIPv6Address: Sendable, Hashable, CustomStringConvertible {
    public let octets: [UInt8]

    public init?(octets: [UInt8]) {
        guard octets.count == 16 else { return nil }
        self.octets = octets
    }

    /// RFC 5952 text: lower-case hex, leading zeros dropped, the longest run of two or more zero groups as `::`.
    public var description: String {
        let groups = (0..<8).map { UInt16(octets[2 * $0]) << 8 | UInt16(octets[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 { end += 1 }
            if end - index > bestLength, end - index >= 2 { bestStart = index; bestLength = end - index }
            index = end
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// The data of a resource record, parsed for the types Tally uses and kept as bytes for any other.
public enum DNSRecordData: Sendable, Hashable {
    case a(DNSIPv4Address)
    case aaaa(DNSIPv6Address)
    case srv(SRVData)
    case soa(SOAData)
    case ns(DNSName)
    case cname(DNSName)
    /// Character strings of up to 255 bytes each.
    case txt([[UInt8]])
    case opt([EDNSOption])
    case tsig(TSIGData)
    /// No data at all (RDLENGTH 0): what UPDATE uses to delete a whole RRset or a name.
    case empty
    /// Any other type, as received.
    case unknown([UInt8])
}
