import Foundation
import TallyCore
import TallyDNS

/// Where DNS discovery finds its name servers, search domains and limits.
///
/// By default everything comes from `/etc/resolv.conf`; an application (or `TALLY_DNS_SERVERS` and
/// `TALLY_RESOLV_CONF` for the command line) can name other servers, with ports.
public struct DiscoveryOptions: Sendable, Equatable {
    /// The resolv.conf to read name servers, search domains, `timeout:` and `attempts:` from.
    public var resolvConfPath: String
    /// Name servers `ADDR[:PORT]` instead of resolv.conf's (IPv4 or IPv6, e.g. `[2001:db8::53]:5353`).
    public var nameServers: [String]?
    /// Seconds to wait for each DNS answer, instead of resolv.conf's.
    public var timeout: Double?
    /// Rounds over the name servers, instead of resolv.conf's.
    public var attempts: Int?

    public init(resolvConfPath: String = ResolverConfiguration.systemPath, nameServers: [String]? = nil,
                timeout: Double? = nil, attempts: Int? = nil) {
        self.resolvConfPath = resolvConfPath
        self.nameServers = nameServers
        self.timeout = timeout
        self.attempts = attempts
    }
}

/// Finds hosts through DNS SRV records (DESIGN.md, "DNS"): a pinned host wins; else, with host caching on,
/// the host that last answered; else `_<service>._tcp.<domain>` for the `skms-domain` domain or each search
/// domain in turn, targets ordered by RFC 2782 (priority, then weighted random).
///
/// Lookups that find nothing are the result codes of KMS: 8007267C no name server, 8007232A server failure or
/// no answer, 8007232B no such name, 8007251D no SRV records.
package struct DNSHostLocator: HostLocator {
    package var options: DiscoveryOptions
    /// The random source for the weighted order (injected by tests).
    package var random: @Sendable () -> UInt64

    package init(options: DiscoveryOptions = DiscoveryOptions(), random: @escaping @Sendable () -> UInt64 = { UInt64.random(in: 0...UInt64.max) }) {
        self.options = options
        self.random = random
    }

    package func candidates(settings: ClientSettings, service: String) throws(TallyError) -> HostCandidates {
        if let pinned = settings.pinnedHost { return HostCandidates(hosts: [pinned], pinned: true) }
        if settings.hostCaching, let cached = settings.cachedHost {
            return HostCandidates(hosts: [cached], pinned: false, cached: true,
                                  names: settings.discoveredHostName.map { [cached: $0] } ?? [:])
        }
        return try discover(settings: settings, service: service)
    }

    /// The resolver configuration: resolv.conf, with the options' overrides.
    package func resolverConfiguration() throws(TallyError) -> ResolverConfiguration {
        var configuration = ResolverConfiguration.load(path: options.resolvConfPath).configuration
        if let servers = options.nameServers {
            configuration.nameServers = []
            for text in servers {
                do {
                    configuration.nameServers.append(try DNSServerAddress(parsing: text))
                } catch {
                    throw TallyError(.usageError, "the configured name server is not usable: \(error.detail)",
                                     remedy: "Give name servers as ADDR[:PORT], e.g. `192.0.2.53` or `[2001:db8::53]:5353`.")
                }
            }
        }
        if let timeout = options.timeout { configuration.timeout = timeout }
        if let attempts = options.attempts { configuration.attempts = attempts }
        return configuration
    }

    /// Looks the service up in the configured domain, else in each search domain until one has records.
    package func discover(settings: ClientSettings, service: String) throws(TallyError) -> HostCandidates {
        let configuration = try resolverConfiguration()
        guard !configuration.nameServers.isEmpty else {
            throw TallyError(.noDNSServer, "no DNS server is configured (\(options.resolvConfPath) names none), so no host can be discovered",
                             remedy: "Add a `nameserver` line to \(options.resolvConfPath), or pin the activation host: `tally client skms HOST[:PORT]`.")
        }
        var domains: [DNSName] = []
        if let domain = settings.domain {
            do {
                domains = [try DNSName(domain)]
            } catch {
                throw TallyError(.usageError, "the discovery domain '\(domain)' is not a DNS name", remedy: "Set it again: `tally client skms-domain DOMAIN`.")
            }
        } else {
            domains = configuration.searchDomains
        }
        guard !domains.isEmpty else {
            throw TallyError(.dnsNameNotFound, "no domain to look for activation hosts in: no skms-domain is set and \(options.resolvConfPath) has no search list",
                             remedy: "Set the domain: `tally client skms-domain example.com`, or pin the activation host: `tally client skms HOST[:PORT]`.")
        }
        let lookup = SRVLookup(resolver: DNSResolver(configuration: configuration))
        var failures: [TallyError] = []
        for domain in domains {
            let answer: SRVAnswer
            do {
                answer = try lookup.lookup(service: service, domain: domain)
            } catch {
                failures.append(error)
                continue
            }
            return candidates(from: answer, lookup: lookup)
        }
        // Report the most telling failure: a server that failed hides what it would have said.
        let order: [ResultCode] = [.dnsServerFailure, .dnsNoSRVRecords, .dnsNameNotFound]
        let worst = order.first { code in failures.contains { $0.code == code } } ?? failures.first?.code ?? .dnsNameNotFound
        let message = failures.count == 1 ? failures[0].message : failures.map(\.message).joined(separator: "; ")
        throw TallyError(worst, message)
    }

    /// Every address of every target, in RFC 2782 order; a target without addresses in DNS is kept by name for
    /// the system resolver (`/etc/hosts`).
    func candidates(from answer: SRVAnswer, lookup: SRVLookup) -> HostCandidates {
        var generator = ClosureRandom(source: random)
        var hosts: [HostAddress] = []
        var names: [HostAddress: String] = [:]
        for record in SRVSelection.order(answer.records, using: &generator) {
            let target = String(record.target.description.dropLast())
            var addresses = lookup.addresses(of: record.target, known: answer.addresses)
            if addresses.isEmpty { addresses = [target] }
            for address in addresses {
                let host = HostAddress(host: address, port: Int(record.port))
                guard names[host] == nil else { continue }
                hosts.append(host)
                names[host] = target
            }
        }
        return HostCandidates(hosts: hosts, pinned: false, names: names)
    }
}

/// A `RandomNumberGenerator` over a closure, so the locator can stay `Sendable` with an injected source.
struct ClosureRandom: RandomNumberGenerator {
    let source: @Sendable () -> UInt64
    mutating func next() -> UInt64 { source() }
}
