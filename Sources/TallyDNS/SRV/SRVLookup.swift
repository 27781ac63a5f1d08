import TallyCore

/// The SRV records found for a service in one domain, with any addresses the server sent along.
public struct SRVAnswer: Sendable, Equatable {
    /// `_tally._tcp.example.com.`
    public var owner: DNSName
    public var records: [SRVData]
    /// A and AAAA records from the additional section, by target name.
    public var addresses: [DNSName: [String]]

    public init(owner: DNSName, records: [SRVData], addresses: [DNSName: [String]] = [:]) {
        self.owner = owner
        self.records = records
        self.addresses = addresses
    }
}

/// SRV lookups in Tally's terms: each way a lookup can fail is a result code an administrator knows from
/// KMS (docs/DNS.md).
///
/// | outcome | code |
/// |---|---|
/// | no name server configured | 0x8007267C |
/// | SERVFAIL, REFUSED, timeout, a malformed answer | 0x8007232A |
/// | NXDOMAIN | 0x8007232B |
/// | the name exists but has no SRV records (or only `.`) | 0x8007251D |
public struct SRVLookup: Sendable {
    public var resolver: DNSResolver

    public init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    /// `_service._tcp.domain.`
    public static func owner(service: String, domain: DNSName) throws(TallyError) -> DNSName {
        let label = service.hasPrefix("_") ? service : "_" + service
        do {
            return try domain.prepending("_tcp").prepending(label)
        } catch {
            throw TallyError(.usageError, "'\(label)._tcp.\(domain)' is not a valid DNS name: \(error.detail)")
        }
    }

    /// Looks up the SRV records of `_service._tcp.domain`, giving up at `deadline` (a server failure, 8007232A).
    public func lookup(service: String, domain: DNSName, deadline: ContinuousClock.Instant? = nil) throws(TallyError) -> SRVAnswer {
        let owner = try SRVLookup.owner(service: service, domain: domain)
        let answer: DNSMessage
        do {
            answer = try resolver.query(owner, type: .srv, deadline: deadline)
        } catch {
            throw SRVLookup.tallyError(error, owner: owner)
        }
        return try SRVLookup.interpret(answer, owner: owner)
    }

    /// Turns an answer into SRV records or the result code for what it says. Pure, for tests.
    public static func interpret(_ answer: DNSMessage, owner: DNSName) throws(TallyError) -> SRVAnswer {
        if answer.responseCode == .nameError {
            throw TallyError(.dnsNameNotFound, "\(owner) does not exist (NXDOMAIN)")
        }
        guard answer.responseCode == .noError else {
            throw TallyError(.dnsServerFailure, "the name server answered \(answer.responseCode) for \(owner) SRV")
        }
        // Follow at most a short CNAME chain inside the answer; SRV owners should not be aliases, but some are.
        var name = owner
        for _ in 0..<8 {
            guard let alias = answer.answers(.cname, for: name).first, case .cname(let target) = alias.data else { break }
            name = target
        }
        let all = answer.answers(.srv, for: name).compactMap { record -> SRVData? in
            if case .srv(let srv) = record.data { return srv }
            return nil
        }
        let records = all.filter { !$0.target.isRoot }
        guard !records.isEmpty else {
            throw TallyError(.dnsNoSRVRecords, all.isEmpty ? "\(owner) exists but has no SRV records"
                                                         : "\(owner) says the service is not available in this domain (target '.')")
        }
        var addresses: [DNSName: [String]] = [:]
        for record in answer.additionals + answer.answers {
            switch record.data {
            case .a(let address): addresses[record.name, default: []].append(address.description)
            case .aaaa(let address): addresses[record.name, default: []].append(address.description)
            default: break
            }
        }
        return SRVAnswer(owner: owner, records: records, addresses: addresses)
    }

    /// The result code for a lookup that got no answer.
    public static func tallyError(_ error: DNSError, owner: DNSName) -> TallyError {
        switch error.kind {
        case .noNameServers:
            TallyError(.noDNSServer, "no DNS server is configured to look up \(owner)")
        case .badAddress:
            TallyError(.noDNSServer, "the configured DNS server is not usable: \(error.detail)")
        case .timeout, .network, .malformedAnswer, .serverFailure:
            TallyError(.dnsServerFailure, "looking up \(owner) SRV failed: \(error.detail)")
        }
    }

    /// The IPv6 and IPv4 addresses of a target: from `known` (the additional section) when there, else asked
    /// for (AAAA, then A), no query outlasting `deadline`. A failed address query gives no addresses, never an
    /// error.
    public func addresses(of target: DNSName, known: [DNSName: [String]] = [:], deadline: ContinuousClock.Instant? = nil) -> [String] {
        if let found = known[target], !found.isEmpty {
            return found.filter { $0.contains(":") } + found.filter { !$0.contains(":") }
        }
        var result: [String] = []
        for type in [DNSRecordType.aaaa, .a] {
            guard let answer = try? resolver.query(target, type: type, deadline: deadline) else { continue }
            var name = target
            for _ in 0..<8 {
                guard let alias = answer.answers(.cname, for: name).first, case .cname(let next) = alias.data else { break }
                name = next
            }
            for record in answer.answers(type, for: name) {
                switch record.data {
                case .a(let address): result.append(address.description)
                case .aaaa(let address): result.append(address.description)
                default: break
                }
            }
        }
        return result
    }
}
