import Foundation
import TallyCore
import TallyDNS
import TallyFiles

/// What the doctor's checks share, each fact gathered at most once and only when a check first needs it: the
/// state directory as read (never written), the resolver configuration, the SRV lookups, the probes of each
/// host, and the one signed answer of the host the client would use.
package final class DoctorSession {
    package let client: TallyClient
    /// Discovery as asked for, before the state's stored DNS settings apply.
    package let requestedDiscovery: DiscoveryOptions
    /// Discovery as the client does it: the stored DNS settings (`set-dns-servers`, `set-resolv-conf`) where the
    /// requested options leave them open.
    package lazy var discovery: DiscoveryOptions = requestedDiscovery.applying(state.settings)
    /// The SKU asked for (`--sku`); `nil` for the only (or first) one installed.
    package let requestedSKU: String?
    /// This machine's clock.
    package let now: Date

    package init(client: TallyClient, discovery: DiscoveryOptions, sku: String? = nil, now: Date) {
        self.client = client
        requestedDiscovery = discovery
        requestedSKU = sku
        self.now = now
    }

    // MARK: - The state directory

    /// The state directory as read, under its lock when it can be taken. Nothing is written.
    package struct State {
        var directoryExists: Bool
        var profile: Result<ClientProfile, TallyError>
        var machine: Result<ClientMachine?, TallyError>
        var settings: ClientSettings
        var settingsProblem: TallyError?
        var events: [TallyEvent]
        /// Whether the directory holds a host's key file: `tally host install-key` was run on it.
        var holdsHostKey: Bool
    }

    /// The name of the file a host keeps its key in (TallyHost's `HostIdentity`).
    static let hostKeyFile = "host-key"

    package lazy var state: State = readState()

    private func readState() -> State {
        let directory = client.directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return State(directoryExists: false,
                         profile: .failure(TallyError(.notInstalled, "there is no client state directory at \(directory.url.path)")),
                         machine: .success(nil), settings: ClientSettings(), settingsProblem: nil, events: [], holdsHostKey: false)
        }
        let read = { [client] () -> State in
            let profile = Result { () throws(TallyError) -> ClientProfile in
                _ = try client.trustedRoots(of: client.profile)
                return client.profile
            }
            let machine = Result { () throws(TallyError) -> ClientMachine? in try client.readMachine() }
            var settings = ClientSettings()
            var settingsProblem: TallyError?
            do throws(TallyError) { settings = try client.readSettings() } catch { settingsProblem = error }
            return State(directoryExists: true, profile: profile, machine: machine, settings: settings, settingsProblem: settingsProblem,
                         events: ClientEventLog(directory: directory).read(), holdsHostKey: directory.exists(Self.hostKeyFile))
        }
        // The lock keeps a write by another process from being read half done; a directory whose lock this user
        // may not take (another user's) is read without it, since files are replaced atomically anyway.
        if let state = try? directory.withLock({ read() }) { return state }
        return read()
    }

    var settings: ClientSettings { state.settings }
    var pinnedHost: HostAddress? { state.settings.pinnedHost }

    /// The installed machine state, when there is one.
    var machine: ClientMachine? {
        if case let .success(machine?) = state.machine { return machine }
        return nil
    }

    var profile: ClientProfile? { try? state.profile.get() }

    /// The SKU to ask the host for: the requested one when installed, else the only (or first, by name) one.
    var sku: String? {
        guard let machine else { return nil }
        if let requestedSKU { return machine.licenses[requestedSKU] != nil ? requestedSKU : nil }
        return machine.licenses.keys.sorted().first
    }

    /// The DNS service label of the vendor's catalog.
    var service: String { profile?.service ?? "tally" }

    /// Whether this state was made on another machine (its CMID is that machine's).
    var stateCopied: Bool {
        guard let machine else { return false }
        return machine.fingerprint != client.identity.fingerprint
    }

    // MARK: - DNS

    /// The resolver configuration discovery uses: resolv.conf with the configured overrides.
    package lazy var resolver: Result<ResolverConfiguration, TallyError> = {
        Result { () throws(TallyError) -> ResolverConfiguration in try DNSHostLocator(options: discovery).resolverConfiguration() }
    }()

    /// Lines of resolv.conf that could not be read (only when resolv.conf names the servers).
    lazy var resolvConfWarnings: [String] = discovery.nameServers == nil ? ResolverConfiguration.load(path: discovery.resolvConfPath).warnings : []

    /// One SRV lookup.
    package struct DomainLookup {
        var domain: DNSName
        /// `_tally._tcp.example.com.`
        var owner: String
        var result: Result<SRVAnswer, TallyError>
    }

    /// The SRV lookups of every domain discovery searches, or why none could be made.
    package enum Lookups {
        /// No name server, or one that is not usable.
        case unavailable(TallyError)
        /// No domain to search, or a `skms-domain` that is not a name.
        case noDomain(TallyError)
        case done([DomainLookup], SRVLookup)
    }

    package lazy var lookups: Lookups = lookUp()

    private func lookUp() -> Lookups {
        let configuration: ResolverConfiguration
        switch resolver {
        case let .failure(error): return .unavailable(error)
        case let .success(value): configuration = value
        }
        guard !configuration.nameServers.isEmpty else {
            return .unavailable(TallyError(.noDNSServer, "no DNS server is configured (\(discovery.resolvConfPath) names none)"))
        }
        var domains: [DNSName] = []
        if let domain = settings.domain {
            do {
                domains = [try DNSName(domain)]
            } catch {
                return .noDomain(TallyError(.usageError, "the discovery domain '\(domain)' is not a DNS name",
                                            remedy: "Set it again: `tally client skms-domain DOMAIN`."))
            }
        } else {
            domains = configuration.searchDomains
        }
        guard !domains.isEmpty else {
            return .noDomain(TallyError(.dnsNameNotFound,
                                        "there is no domain to look for hosts in: no skms-domain is set and \(discovery.resolvConfPath) has no search list",
                                        remedy: "Set the domain: `tally client skms-domain example.com`, or add a `search` line to \(discovery.resolvConfPath); or pin the host: `tally client skms HOST[:PORT]`."))
        }
        let lookup = SRVLookup(resolver: DNSResolver(configuration: configuration))
        var results: [DomainLookup] = []
        for domain in domains {
            let owner = DoctorText.name((try? SRVLookup.owner(service: service, domain: domain))?.description ?? "_\(service)._tcp.\(domain)")
            do {
                results.append(DomainLookup(domain: domain, owner: owner, result: .success(try lookup.lookup(service: service, domain: domain))))
            } catch {
                results.append(DomainLookup(domain: domain, owner: owner, result: .failure(error)))
            }
        }
        return .done(results, lookup)
    }

    /// The records discovery uses: those of the first domain that has any.
    var discovered: (lookup: DomainLookup, answer: SRVAnswer, resolver: SRVLookup)? {
        guard case let .done(results, resolver) = lookups else { return nil }
        for result in results {
            if case let .success(answer) = result.result { return (result, answer, resolver) }
        }
        return nil
    }

    // MARK: - Hosts

    /// One host asked whether it answers: `GET /health`, which a Tally host answers without counting anything.
    package struct Probe {
        var address: HostAddress
        /// The SRV target the address belongs to.
        var name: String?
        var pinned = false
        var cached = false
        /// Whether DNS names it as an SRV target.
        var target = false
        /// Why it did not answer as a Tally host; `nil` when it did.
        var failure: String?
        /// It accepted the connection and sent nothing within the read timeout (a stalled host), as opposed to
        /// one that refused or never completed the connection.
        var stalled = false

        var answers: Bool { failure == nil }

        var label: String {
            guard let name, name != address.host else { return address.description }
            return "\(name) (\(address))"
        }
    }

    /// The pinned host; else the cached host (when caching is on) and every address of every SRV target in
    /// RFC 2782 order: the order the client tries them in.
    package lazy var probes: [Probe] = probeHosts()

    private func probeHosts() -> [Probe] {
        if let pinned = pinnedHost {
            var probe = Probe(address: pinned, pinned: true)
            (probe.failure, probe.stalled) = Self.probe(pinned, connectTimeout: client.connectTimeout, readTimeout: client.readTimeout)
            return [probe]
        }
        var list: [Probe] = []
        if settings.hostCaching, let cached = settings.cachedHost {
            list.append(Probe(address: cached, name: settings.discoveredHostName, cached: true))
        }
        if let discovered {
            let candidates = DNSHostLocator(options: discovery).candidates(from: discovered.answer, lookup: discovered.resolver)
            for host in candidates.hosts {
                if let index = list.firstIndex(where: { $0.address == host }) {
                    list[index].target = true
                    list[index].name = candidates.names[host]
                } else {
                    list.append(Probe(address: host, name: candidates.names[host], target: true))
                }
            }
        }
        for index in list.indices {
            (list[index].failure, list[index].stalled) = Self.probe(list[index].address, connectTimeout: client.connectTimeout,
                                                                    readTimeout: stallTimeout)
        }
        return list
    }

    /// How long the client waits for the answer of a host that accepted the connection, while other hosts
    /// remain: the connect timeout, at least 1 s (never more than the read timeout). The doctor probes with it.
    package var stallTimeout: TimeInterval { min(client.readTimeout, max(client.connectTimeout, 1)) }

    /// `(nil, false)` when `address` answers `/health` as a Tally host, else why not, and whether it stalled
    /// (accepted the connection and sent nothing within `readTimeout`).
    static func probe(_ address: HostAddress, connectTimeout: TimeInterval, readTimeout: TimeInterval) -> (String?, Bool) {
        struct Health: Decodable { var status: String }
        let response: HTTPResponse
        do {
            response = try HTTPClient.get("/health", from: address, connectTimeout: connectTimeout, readTimeout: readTimeout)
        } catch {
            switch error.kind {
            case .resolve: return ("does not resolve (\(error.detail))", false)
            case .connect: return (error.detail, false)
            case .timeout: return ("accepted the connection but did not answer within \(HTTPClient.format(readTimeout)) s", true)
            case .malformed, .tooLarge: return ("did not answer as a Tally host: \(error.detail)", false)
            }
        }
        guard response.status == 200, let health = try? JSONDecoder().decode(Health.self, from: response.body), health.status == "ok" else {
            return ("answered HTTP \(response.status) on /health, not as a Tally host (something else may listen on port \(address.port))", false)
        }
        return (nil, false)
    }

    /// The host the client would use now: the pinned host, else the cached one, else the first SRV target
    /// that answers.
    var hostToAsk: HostAddress? { probes.first { $0.answers }?.address }

    // MARK: - The host's answer

    /// The one activation request the doctor sends, and what came of it.
    package enum HostAnswer {
        /// Not sent, and why.
        case notAsked(String)
        /// No signed answer: the host did not respond, or refused in HTTP (503 C004F041 without a certificate).
        case noAnswer(HostAddress, TallyError)
        /// A signed answer that does not verify: nothing in it is trusted.
        case rejected(HostAddress, TallyError)
        /// A genuine answer. `certificateProblem` is set when it verifies only at the host's time, not at this
        /// machine's clock: the client would reject it.
        case verified(HostAddress, VerifiedResponse, certificateProblem: TallyError?)
    }

    package lazy var answer: HostAnswer = askHost()

    private func askHost() -> HostAnswer {
        guard KeyCheck().run(self).status != .fail, let sku, let profile, let machine, let license = machine.licenses[sku] else {
            return .notAsked("no usable client setup key is installed (see key)")
        }
        guard !stateCopied else {
            return .notAsked("this state was copied from another machine, so its CMID is not this machine's (see key)")
        }
        guard let host = hostToAsk else {
            return .notAsked(pinnedHost == nil ? "no host answered (see targets)" : "the pinned host does not answer (see targets)")
        }
        let roots: TrustedRoots
        do {
            roots = try client.trustedRoots(of: profile)
        } catch {
            return .notAsked(error.message)
        }
        let identity = client.identity
        let (check, _) = client.checkTicket(license, machine: machine, roots: roots, now: now)
        let status = license.status(at: now, ticket: check, graceEnds: machine.graceEnds(at: now))
        let expiry = TallyClient.expiry(status: status, check: check, graceEnds: machine.graceEnds(at: now))
        let nonce = TallyClient.makeNonce()
        let held = TallyClient.heldCertificate(machine, sku: sku)
        let body = ActivationRequestBody(
            cmid: machine.cmid, sku: sku, fingerprint: identity.fingerprint,
            machine: String(identity.name.prefix(ActivationRequestBody.maximumMachineNameLength)), clientTime: now, nonce: nonce,
            licenseStatus: status, minutesToExpiry: expiry.map { max(0, Int($0.timeIntervalSince(now) / 60)) },
            certificateHash: held.map(HostCertificate.hash(ofCompact:)))
        let received: ReceivedAnswer
        switch client.exchange(body, with: host) {
        case let .failure(error): return .noAnswer(host, error)
        case let .success(answer): received = answer
        }
        func verify(at time: Date) throws(TokenError) -> VerifiedResponse {
            try received.verify(held: held, roots: roots, now: time, nonce: nonce, cmid: machine.cmid, fingerprint: identity.fingerprint)
        }
        var verified: VerifiedResponse
        var certificateProblem: TallyError?
        do {
            verified = try verify(at: now)
        } catch {
            // Out of date at this machine's clock: is it genuine at the host's? Then the answer (and its host time)
            // can be trusted, and either the certificate or one of the two clocks is wrong.
            guard [TokenError.Reason.expired, .notYetValid].contains(error.reason), let hostTime = received.claimedHostTime,
                  let atHost = try? verify(at: hostTime)
            else {
                return .rejected(host, TallyClient.answerError(error, host: host))
            }
            verified = atHost
            certificateProblem = TallyClient.answerError(error, host: host)
        }
        guard verified.claims.sku == sku else {
            return .rejected(host, TallyError(.answerRejected, "the answer from \(host) is for SKU \(verified.claims.sku), not \(sku)"))
        }
        if verified.claims.res.isSuccess, verified.ticket == nil {
            return .rejected(host, TallyError(.answerRejected, "the answer from \(host) grants activation but carries no ticket"))
        }
        return .verified(host, verified, certificateProblem: certificateProblem)
    }

    /// The verified answer, for the checks that read it (certificate problems aside).
    var verifiedAnswer: (host: HostAddress, response: VerifiedResponse)? {
        if case let .verified(host, response, _) = answer { return (host, response) }
        return nil
    }

    /// Why the checks that need a genuine answer cannot be made.
    var unansweredReason: String {
        switch answer {
        case let .notAsked(reason): return reason
        case let .noAnswer(host, error): return "\(host) gave no signed answer (\(error.code.hex)) (see host-certificate)"
        case let .rejected(host, error): return "the answer from \(host) did not verify (\(error.code.hex)) (see host-certificate)"
        case .verified: return ""
        }
    }
}
