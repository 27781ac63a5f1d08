import Foundation
import TallyCore
import TallyDNS

/// Where DNS discovery finds its name servers, search domains and limits.
///
/// By default everything comes from `/etc/resolv.conf`; the state directory can store other servers and another
/// resolv.conf (`tally client set-dns-servers`, `set-resolv-conf`; see ``applying(_:)``), and an application (or
/// `TALLY_DNS_SERVERS` and `TALLY_RESOLV_CONF` for the command line) can name others still, with ports.
///
/// Discovery is bounded whatever the DNS answers say: the targets of an SRV answer are looked up one at a time,
/// in RFC 2782 order, each only after the hosts before it failed; at most ``maximumTargets`` targets (the first in
/// that order) and ``maximumAddressesPerFamily`` IPv6 and IPv4 addresses of each are tried; and at ``deadline``
/// the client stops with the code of where it got to (8007232A while the SRV records are looked up, C004F074
/// once records were found but no host answered).
public struct DiscoveryOptions: Sendable, Equatable {
    /// The resolv.conf to read name servers, search domains, `timeout:` and `attempts:` from.
    public var resolvConfPath: String
    /// Name servers `ADDR[:PORT]` instead of resolv.conf's (IPv4 or IPv6, e.g. `[2001:db8::53]:5353`).
    public var nameServers: [String]?
    /// Seconds to wait for each DNS answer, instead of resolv.conf's.
    public var timeout: Double?
    /// Rounds over the name servers, instead of resolv.conf's.
    public var attempts: Int?
    /// Seconds for the whole of discovery: the SRV lookups, the targets' address lookups and trying the hosts.
    /// Once it has passed no further query is sent and no further host is tried; a host being tried then keeps
    /// its connect and read timeouts. Default ``defaultDeadline``.
    public var deadline: Double

    /// 10 seconds.
    public static let defaultDeadline: Double = 10
    /// The SRV targets considered from one answer, the first 16 in RFC 2782 order; the rest are ignored.
    public static let maximumTargets = 16
    /// The addresses of each family (IPv6, IPv4) tried for one target: 2.
    public static let maximumAddressesPerFamily = 2

    public init(resolvConfPath: String = ResolverConfiguration.systemPath, nameServers: [String]? = nil,
                timeout: Double? = nil, attempts: Int? = nil, deadline: Double = DiscoveryOptions.defaultDeadline) {
        self.resolvConfPath = resolvConfPath
        self.nameServers = nameServers
        self.timeout = timeout
        self.attempts = attempts
        self.deadline = deadline
    }
}

/// Finds hosts through DNS SRV records (docs/DNS.md, docs/ARCHITECTURE.md): a pinned host wins; else, with host caching on,
/// the host that last answered; else `_<service>._tcp.<domain>` for the `skms-domain` domain or each search
/// domain in turn, targets ordered by RFC 2782 (priority, then weighted random) and looked up one at a time as
/// they are tried, within the limits of ``DiscoveryOptions``.
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
        var queue = try queue(settings: settings, service: service)
        return queue.drain()
    }

    package func queue(settings: ClientSettings, service: String) throws(TallyError) -> HostQueue {
        if let pinned = settings.pinnedHost { return HostQueue(HostCandidates(hosts: [pinned], pinned: true)) }
        if settings.hostCaching, let cached = settings.cachedHost {
            return HostQueue(HostCandidates(hosts: [cached], pinned: false, cached: true,
                                            names: settings.discoveredHostName.map { [cached: $0] } ?? [:]))
        }
        // The state's stored DNS settings apply where the options leave them open.
        return try DNSHostLocator(options: options.applying(settings), random: random).discover(settings: settings, service: service)
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

    /// The discovery deadline, from now.
    func deadlineFromNow() -> ContinuousClock.Instant {
        .now + .milliseconds(Int64(max(0, min(options.deadline, 86_400)) * 1000))
    }

    /// Looks the service up in the configured domain, else in each search domain until one has records; the
    /// targets are looked up later, one at a time, as the queue hands them out.
    package func discover(settings: ClientSettings, service: String) throws(TallyError) -> HostQueue {
        let deadline = deadlineFromNow()
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
                answer = try lookup.lookup(service: service, domain: domain, deadline: deadline)
            } catch {
                failures.append(error)
                continue
            }
            return queue(from: answer, lookup: lookup, deadline: deadline)
        }
        // Report the most telling failure: a server that failed hides what it would have said.
        let order: [ResultCode] = [.dnsServerFailure, .dnsNoSRVRecords, .dnsNameNotFound]
        let worst = order.first { code in failures.contains { $0.code == code } } ?? failures.first?.code ?? .dnsNameNotFound
        let message = failures.count == 1 ? failures[0].message : failures.map(\.message).joined(separator: "; ")
        throw TallyError(worst, message)
    }

    /// The targets of an answer in RFC 2782 order (priority, then weighted random), at most
    /// ``DiscoveryOptions/maximumTargets`` of them, to be looked up one at a time until `deadline`.
    func queue(from answer: SRVAnswer, lookup: SRVLookup, deadline: ContinuousClock.Instant) -> HostQueue {
        var generator = ClosureRandom(source: random)
        let ordered = SRVSelection.order(answer.records, using: &generator)
        return HostQueue(targets: SRVTargetQueue(records: ordered, known: answer.addresses, lookup: lookup,
                                                 deadline: deadline, deadlineSeconds: options.deadline))
    }

    /// Every address of the targets `tally doctor` would have the client try, in RFC 2782 order, with the same
    /// limits; a target without addresses in DNS is kept by name for the system resolver (`/etc/hosts`).
    func candidates(from answer: SRVAnswer, lookup: SRVLookup) -> HostCandidates {
        var queue = queue(from: answer, lookup: lookup, deadline: deadlineFromNow())
        return queue.drain()
    }
}

/// The discovered SRV targets not yet looked up, in the order to try them; at most
/// ``DiscoveryOptions/maximumTargets``, and none once the deadline has passed.
struct SRVTargetQueue: Sendable {
    /// The targets left, in RFC 2782 order.
    private var records: ArraySlice<SRVData>
    /// How many records the answer had, and how many were left out by the cap.
    private let total: Int
    private let dropped: Int
    private let known: [DNSName: [String]]
    private let lookup: SRVLookup
    private let deadline: ContinuousClock.Instant
    private let deadlineSeconds: Double
    /// Whether the deadline was found passed.
    private(set) var expired = false

    init(records: [SRVData], known: [DNSName: [String]], lookup: SRVLookup, deadline: ContinuousClock.Instant, deadlineSeconds: Double) {
        self.records = records.prefix(DiscoveryOptions.maximumTargets)
        total = records.count
        dropped = max(0, records.count - DiscoveryOptions.maximumTargets)
        self.known = known
        self.lookup = lookup
        self.deadline = deadline
        self.deadlineSeconds = deadlineSeconds
    }

    var hasMore: Bool { !records.isEmpty }

    /// Whether the deadline has passed (and from then on, always).
    mutating func deadlinePassed() -> Bool {
        if !expired, ContinuousClock.now >= deadline { expired = true }
        return expired
    }

    /// The next target's addresses (IPv6 first, at most ``DiscoveryOptions/maximumAddressesPerFamily`` of each
    /// family), or the target by name when DNS has none; `nil` when no target is left or the deadline passed.
    mutating func nextTarget() -> (name: String, hosts: [HostAddress])? {
        guard !deadlinePassed(), let record = records.popFirst() else { return nil }
        let name = String(record.target.description.dropLast())
        let found = lookup.addresses(of: record.target, known: known, deadline: deadline)
        let limit = DiscoveryOptions.maximumAddressesPerFamily
        var addresses = Array(found.filter { $0.contains(":") }.prefix(limit)) + Array(found.filter { !$0.contains(":") }.prefix(limit))
        if addresses.isEmpty { addresses = [name] }
        return (name, addresses.map { HostAddress(host: $0, port: Int(record.port)) })
    }

    /// Why fewer hosts were tried than the answer named: `""` when none was left out.
    var limitNote: String {
        var notes: [String] = []
        if dropped > 0 {
            notes.append("only the first \(DiscoveryOptions.maximumTargets) of the \(total) SRV targets are tried")
        }
        if expired {
            notes.append("discovery stopped at its \(deadlineSeconds == deadlineSeconds.rounded() ? String(Int(deadlineSeconds)) : String(deadlineSeconds)) s deadline"
                            + (records.isEmpty ? "" : " with \(records.count) SRV target\(records.count == 1 ? "" : "s") not tried"))
        }
        return notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")
    }
}

/// A `RandomNumberGenerator` over a closure, so the locator can stay `Sendable` with an injected source.
struct ClosureRandom: RandomNumberGenerator {
    let source: @Sendable () -> UInt64
    mutating func next() -> UInt64 { source() }
}
