import Foundation
import TallyCore
import TallyDNS
import TallyFiles

/// One SRV record (and the target's addresses) this host published in one domain.
public struct DNSPublishedRecord: Codable, Sendable, Equatable {
    /// The publish-list domain, absolute (`example.com.`).
    public var domain: String
    /// `_tally._tcp.example.com.`
    public var owner: String
    public var priority: Int
    public var weight: Int
    public var port: Int
    /// The SRV target, absolute.
    public var target: String
    public var ttl: Int
    /// A/AAAA records published for the target.
    public var addresses: [String]
    /// When DNS confirmed the record; `nil` in a plan not yet applied.
    public var published: Date?

    public init(domain: String, owner: String, priority: Int, weight: Int, port: Int, target: String, ttl: Int,
                addresses: [String] = [], published: Date? = nil) {
        self.domain = domain
        self.owner = owner
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
        self.ttl = ttl
        self.addresses = addresses
        self.published = published
    }

    /// `0 10 1688 host1.example.com.`, as `dig` prints SRV data.
    public var srvText: String { "\(priority) \(weight) \(port) \(target)" }

    /// Whether the two describe the same DNS data (the time aside).
    public func sameRecords(as other: DNSPublishedRecord) -> Bool {
        var a = self, b = other
        a.published = nil
        b.published = nil
        return a == b
    }
}

/// What this host has published, kept in `dns-published.json` in its state directory, so that a changed port,
/// priority, weight or target replaces the host's own old record, and `unpublish` removes exactly it.
public struct DNSPublication: Codable, Sendable, Equatable {
    public var records: [DNSPublishedRecord]
    /// When the host warned that publishing is on but was never set up (it warns once, not at every start).
    public var unconfiguredWarning: Date?

    public init(records: [DNSPublishedRecord] = [], unconfiguredWarning: Date? = nil) {
        self.records = records
        self.unconfiguredWarning = unconfiguredWarning
    }

    public static let fileName = "dns-published.json"

    public static func load(from directory: StateDirectory) throws(TallyError) -> DNSPublication {
        guard directory.exists(fileName) else { return DNSPublication() }
        return try directory.readJSON(DNSPublication.self, from: fileName)
    }

    public func save(to directory: StateDirectory) throws(TallyError) {
        try directory.writeJSON(self, to: DNSPublication.fileName)
    }

    public func record(forDomain domain: String) -> DNSPublishedRecord? {
        records.first { DNSPublishPlan.sameName($0.domain, domain) }
    }

    /// Replaces (or adds, or with `nil` removes) the record of one domain.
    public mutating func set(_ record: DNSPublishedRecord?, forDomain domain: String) {
        records.removeAll { DNSPublishPlan.sameName($0.domain, domain) }
        if let record { records.append(record) }
    }
}
