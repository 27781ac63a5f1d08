import Foundation

/// Sends signed RFC 2136 updates to a zone's primary name server and checks the signed answers.
///
/// The zone is the one whose SOA holds the owner name; its primary is the SOA's MNAME, unless one is
/// configured. Every update is signed with TSIG and every answer's TSIG is verified before its response code
/// is believed. Time is an input (`clock`), so tests can sign from a skewed clock.
public struct DNSUpdater: Sendable {
    public struct Configuration: Sendable {
        /// Where zone and primary lookups go.
        public var resolver: ResolverConfiguration
        public var key: TSIGKey
        /// The primary to send updates to, instead of the SOA's MNAME (and to ask for the SOA).
        public var primary: DNSServerAddress?
        /// The zone, instead of finding it from the SOA.
        public var zone: DNSName?
        /// The port of a primary found through the SOA.
        public var updatePort: UInt16
        public var fudge: UInt16

        public init(resolver: ResolverConfiguration, key: TSIGKey, primary: DNSServerAddress? = nil, zone: DNSName? = nil,
                    updatePort: UInt16 = 53, fudge: UInt16 = TSIGSigner.defaultFudge) {
            self.resolver = resolver
            self.key = key
            self.primary = primary
            self.zone = zone
            self.updatePort = updatePort
            self.fudge = fudge
        }
    }

    /// Where an update went.
    public struct Receipt: Sendable, Equatable {
        public var zone: DNSName
        public var server: DNSServerAddress
    }

    public var configuration: Configuration
    public var clock: @Sendable () -> Date

    public init(configuration: Configuration, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.clock = clock
    }

    /// The resolver zone lookups use: the configured primary when there is one (it answers for the zone with
    /// authority), else the configured name servers.
    var lookupResolver: DNSResolver {
        var resolver = configuration.resolver
        if let primary = configuration.primary { resolver.nameServers = [primary] }
        return DNSResolver(configuration: resolver)
    }

    /// The zone holding `name` and its SOA: the SOA in the answer when `name` is the apex, else the SOA an
    /// authoritative NXDOMAIN or NODATA answer carries, else the same question for the parent name.
    public func findZone(of name: DNSName) throws(DNSUpdateError) -> (zone: DNSName, soa: SOAData?) {
        if let zone = configuration.zone, configuration.primary != nil { return (zone, nil) }
        var candidate: DNSName? = name
        var lastProblem = "no SOA record was found above \(name)"
        while let current = candidate, !current.isRoot {
            do {
                let answer = try lookupResolver.query(current, type: .soa)
                for record in answer.answers + answer.authorities where record.type == .soa && name.isSubdomain(of: record.name) {
                    if case .soa(let soa) = record.data {
                        if let zone = configuration.zone, zone != record.name { continue }
                        return (record.name, soa)
                    }
                }
            } catch {
                lastProblem = "looking up the SOA of \(current) failed: \(error.detail)"
                if error.kind == .noNameServers || error.kind == .timeout { break }
            }
            candidate = current.parent
        }
        throw DNSUpdateError(.noZone, "the zone holding \(name) could not be found: \(lastProblem)",
                             remedy: "Check that the name servers in resolv.conf serve the publish domain, or set the zone's primary (`tally host set dns-primary HOST[:PORT]`).")
    }

    /// The servers to send updates for a zone to: the configured primary, or the addresses of the SOA's MNAME.
    public func primaries(zone: DNSName, soa: SOAData?) throws(DNSUpdateError) -> [DNSServerAddress] {
        if let primary = configuration.primary { return [primary] }
        guard let soa else {
            throw DNSUpdateError(.primaryUnreachable, "the primary of \(zone) is not known", remedy: "Set the zone's primary (`tally host set dns-primary HOST[:PORT]`).")
        }
        let lookup = SRVLookup(resolver: DNSResolver(configuration: configuration.resolver))
        let servers = lookup.addresses(of: soa.primary).compactMap { try? DNSServerAddress(host: $0, port: configuration.updatePort) }
        guard !servers.isEmpty else {
            throw DNSUpdateError(.primaryUnreachable, "the primary of \(zone), \(soa.primary) (from its SOA), has no address",
                                 remedy: "Give \(soa.primary) an A or AAAA record, or set the zone's primary (`tally host set dns-primary HOST[:PORT]`).")
        }
        return servers
    }

    /// Applies `changes` to the zone holding `owner`: finds zone and primary, signs, sends, verifies.
    @discardableResult
    public func apply(_ changes: [DNSUpdate.Change], owner: DNSName) throws(DNSUpdateError) -> Receipt {
        let (zone, soa) = try findZone(of: owner)
        let servers = try primaries(zone: zone, soa: soa)
        var last: DNSUpdateError?
        for server in servers {
            do {
                try send(DNSUpdate(zone: zone, changes: changes), to: server)
                return Receipt(zone: zone, server: server)
            } catch {
                // Only an unreachable server is worth trying the next address for; any answer is final.
                guard error.reason == .primaryUnreachable else { throw error }
                last = error
            }
        }
        throw last ?? DNSUpdateError(.primaryUnreachable, "no primary for \(zone)", remedy: "Set the zone's primary.")
    }

    /// Signs and sends one update to one server, trying `attempts` times when no answer comes.
    public func send(_ update: DNSUpdate, to server: DNSServerAddress) throws(DNSUpdateError) {
        let signer = TSIGSigner(key: configuration.key, fudge: configuration.fudge)
        let resolver = DNSResolver(configuration: configuration.resolver)
        var transportError: DNSError?
        for _ in 0..<max(1, configuration.resolver.attempts) {
            let message = update.message(id: UInt16.random(in: 0...UInt16.max))
            let signed: (bytes: [UInt8], mac: [UInt8])
            do {
                signed = try signer.sign(message, at: clock())
            } catch {
                throw DNSUpdateError(.invalidUpdate, "the update could not be written: \(error)", remedy: "Shorten the names being published.")
            }
            let answerBytes: [UInt8]
            do {
                answerBytes = try resolver.exchange(bytes: signed.bytes, message: message, server: server).bytes
            } catch {
                transportError = error
                if error.kind == .timeout || error.kind == .network { continue }
                throw DNSUpdateError(.primaryUnreachable, "the update to \(server) failed: \(error.detail)",
                                     remedy: "Check that \(server) is the primary of \(update.zone) and answers DNS over UDP and TCP.")
            }
            try check(answerBytes, requestMAC: signed.mac, signer: signer, zone: update.zone, server: server)
            return
        }
        throw DNSUpdateError(.primaryUnreachable, "the primary \(server) did not answer the update of \(update.zone): \(transportError?.detail ?? "no answer")",
                             remedy: "Check that the name server runs and that port \(server.port) (UDP and TCP) is open from this host to it.")
    }

    private func check(_ bytes: [UInt8], requestMAC: [UInt8], signer: TSIGSigner, zone: DNSName, server: DNSServerAddress) throws(DNSUpdateError) {
        let key = configuration.key
        let answer: DNSMessage
        do {
            answer = try signer.verify(answer: bytes, requestMAC: requestMAC, at: clock())
        } catch {
            switch error.kind {
            case .serverRejected:
                let code = error.serverError ?? .badSignature
                let difference = error.serverTime.map { Int64(bitPattern: $0) - Int64(bitPattern: TSIGSigner.seconds(clock())) }
                throw DNSUpdateError.signatureRejected(code, server: server, key: key, clockDifference: difference)
            case .unsigned where error.message.map({ $0.responseCode != .noError }) ?? false:
                throw DNSUpdateError.rejected(error.message!.responseCode, zone: zone, server: server, key: key, unsigned: true)
            case .badTime:
                throw DNSUpdateError(.clockSkew, code: .badTime, "the answer from \(server) was signed too far from this host's time: \(error.detail)",
                                     remedy: "Synchronise this host's clock and the name server's (NTP).")
            default:
                throw DNSUpdateError(.answerNotTrusted, "the answer from \(server) cannot be trusted: \(error.detail)",
                                     remedy: "Check that \(server) knows key \(key.name) with the same secret; a device on the path may alter DNS traffic.")
            }
        }
        guard answer.responseCode == .noError else {
            throw DNSUpdateError.rejected(answer.responseCode, zone: zone, server: server, key: key, unsigned: false)
        }
    }

    /// Asks the primary (or the name servers) for the `type` records of `name`: what `dns show` reads back.
    public func records(_ name: DNSName, type: DNSRecordType) throws(DNSError) -> [DNSResourceRecord] {
        let answer = try lookupResolver.query(name, type: type)
        return answer.answers(type, for: name)
    }
}
