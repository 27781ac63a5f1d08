import TallyCore
import TallyDNS

/// What the host should have in DNS and the update that gets it there from what it published before.
/// Pure: the settings, the port, the domains and the host name are inputs.
public enum DNSPublishPlan {
    /// SRV priority of a host in low-priority mode: clients try it only after every normal host.
    public static let lowPriority = 65_535

    /// One record per publish-list domain (or per default domain when the list is empty).
    public static func desired(settings: HostSettings, port: Int, defaultDomains: [DNSName], hostName: String) throws(TallyError) -> [DNSPublishedRecord] {
        let entries = settings.dnsPublishList.isEmpty
            ? defaultDomains.prefix(1).map { DNSPublishEntry(domain: $0.description) }
            : settings.dnsPublishList
        guard !entries.isEmpty else {
            throw TallyError(.usageError, "there is no domain to publish in: the publish list is empty and resolv.conf names no domain",
                             remedy: "Set the publish list: `tally host set dns-publish-list example.com`.")
        }
        var records: [DNSPublishedRecord] = []
        for entry in entries {
            let domain: DNSName
            do {
                domain = try DNSName(entry.domain)
            } catch {
                throw TallyError(.usageError, "'\(entry.domain)' in the publish list is not a domain name")
            }
            let owner = try SRVLookup.owner(service: settings.dnsService, domain: domain)
            let target = try target(settings: settings, hostName: hostName, domain: domain)
            records.append(DNSPublishedRecord(
                domain: domain.description, owner: owner.description,
                priority: settings.lowPriority ? lowPriority : entry.priority, weight: entry.weight, port: port,
                target: target.description, ttl: settings.dnsTTL, addresses: settings.dnsAddresses))
        }
        return records
    }

    /// The SRV target: the configured name, else the host name, qualified with the domain when it has no dot.
    static func target(settings: HostSettings, hostName: String, domain: DNSName) throws(TallyError) -> DNSName {
        let name = settings.dnsTarget ?? hostName
        do {
            let parsed = try DNSName(name)
            if settings.dnsTarget == nil, parsed.labels.count == 1 { return try parsed.appending(domain) }
            return parsed
        } catch {
            throw TallyError(.usageError, "'\(name)' cannot be the SRV target: \(error.detail)",
                             remedy: "Set the host's DNS name: `tally host set dns-target host.example.com`.")
        }
    }

    /// The update from `remembered` to `desired`: this host's old SRV record deleted when it differs (never
    /// the RRset, so other hosts' records stay), the desired one added, and the target's addresses likewise.
    public static func changes(to desired: DNSPublishedRecord, from remembered: DNSPublishedRecord?) throws(TallyError) -> [DNSUpdate.Change] {
        var changes: [DNSUpdate.Change] = []
        let new = try resourceRecords(desired)
        if let remembered {
            let old = try resourceRecords(remembered)
            for record in old.all where !new.all.contains(where: { sameData($0, record) }) {
                changes.append(.delete(record))
            }
        }
        changes += new.all.map { .add($0) }
        return changes
    }

    /// The update that removes exactly what was published.
    public static func removal(of remembered: DNSPublishedRecord) throws(TallyError) -> [DNSUpdate.Change] {
        try resourceRecords(remembered).all.map { .delete($0) }
    }

    static func resourceRecords(_ record: DNSPublishedRecord) throws(TallyError) -> (srv: DNSResourceRecord, addresses: [DNSResourceRecord], all: [DNSResourceRecord]) {
        do {
            let owner = try DNSName(record.owner)
            let target = try DNSName(record.target)
            guard (0...65_535).contains(record.priority), (0...65_535).contains(record.weight), (1...65_535).contains(record.port) else {
                throw TallyError(.usageError, "priority, weight and port must be 0 to 65535 (port from 1)")
            }
            let ttl = UInt32(clamping: record.ttl)
            let srv = DNSResourceRecord.srv(owner, ttl: ttl, SRVData(priority: UInt16(record.priority), weight: UInt16(record.weight),
                                                                      port: UInt16(record.port), target: target))
            var addresses: [DNSResourceRecord] = []
            for text in record.addresses {
                if let v4 = DNSIPv4Address(text) {
                    addresses.append(DNSResourceRecord(name: target, type: .a, ttl: ttl, data: .a(v4)))
                } else if let v6 = DNSIPv6Address(text) {
                    addresses.append(DNSResourceRecord(name: target, type: .aaaa, ttl: ttl, data: .aaaa(v6)))
                } else {
                    throw TallyError(.usageError, "'\(text)' is not an IPv4 or IPv6 address")
                }
            }
            return (srv, addresses, [srv] + addresses)
        } catch let error as DNSMessageError {
            throw TallyError(.usageError, "a published name is not valid: \(error.detail)")
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.usageError, "\(error)")
        }
    }

    /// Same owner, type and data: what a class-NONE delete matches (the TTL aside).
    static func sameData(_ a: DNSResourceRecord, _ b: DNSResourceRecord) -> Bool {
        a.name == b.name && a.type == b.type && a.data == b.data
    }

    static func sameName(_ a: String, _ b: String) -> Bool {
        guard let x = try? DNSName(a), let y = try? DNSName(b) else { return a == b }
        return x == y
    }
}
