/// A resource record: owner name, type, class, TTL and data.
public struct DNSResourceRecord: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType
    public var `class`: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSRecordType, class: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.class = `class`
        self.ttl = ttl
        self.data = data
    }

    /// An SRV record.
    public static func srv(_ name: DNSName, ttl: UInt32, _ srv: SRVData) -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: .srv, ttl: ttl, data: .srv(srv))
    }

    public var description: String {
        let text: String
        switch data {
        case .a(let address): text = address.description
        case .aaaa(let address): text = address.description
        case .srv(let srv): text = srv.description
        case .soa(let soa): text = "\(soa.primary) \(soa.responsible) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .ns(let name), .cname(let name): text = name.description
        case .txt(let strings): text = strings.map { "\"" + String(decoding: $0, as: UTF8.self) + "\"" }.joined(separator: " ")
        case .opt(let options): text = "\(options.count) options"
        case .tsig(let tsig): text = "\(tsig.algorithm) \(tsig.timeSigned) \(tsig.fudge) \(tsig.error)"
        case .empty: text = ""
        case .unknown(let bytes): text = "\\# \(bytes.count)"
        }
        return "\(name) \(ttl) \(self.class) \(type) \(text)"
    }
}
