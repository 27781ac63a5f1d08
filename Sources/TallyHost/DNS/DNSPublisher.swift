import Foundation
import Logging
import TallyCore
import TallyDNS
import TallyFiles
import TallyStore

#if canImport(Glibc)
import Glibc
#endif

/// What one publish or unpublish did in one domain: what `tally host dns publish` prints and events
/// 12294 / 12293 record.
public struct DNSPublishOutcome: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable {
        case publish, unpublish
    }

    public var action: Action
    public var domain: String
    public var owner: String?
    /// The SRV data, as `dig` prints it.
    public var record: String?
    public var succeeded: Bool
    /// What `tally host dns publish` shows for a failure: the name server's code (``rcode``) or the local failure.
    public var code: String?
    /// The DNS response code or TSIG error the name server answered (REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME…);
    /// `nil` when the failure happened here (no key, an unreadable key file, no zone found, no answer), which
    /// ``failure`` names instead. Event 12293's `rcode` holds only this.
    public var rcode: String?
    /// A failure without an answer from the name server: `CONFIG`, `invalidUpdate`, `noZone`, `primaryUnreachable`…
    public var failure: String?
    public var message: String
    public var remedy: String?
    /// The name server the update went to.
    public var server: String?

    /// Event 12294 (succeeded) or 12293 (failed) for this outcome.
    public func event(at time: Date) -> TallyEvent {
        var fields = ["action": action.rawValue, "domain": domain, "message": message]
        if let owner { fields["owner"] = owner }
        if let record { fields["record"] = record }
        if let rcode { fields["rcode"] = rcode }
        if let failure { fields["failure"] = failure }
        if let remedy { fields["remedy"] = remedy }
        if let server { fields["server"] = server }
        return TallyEvent(id: succeeded ? .dnsPublishSucceeded : .dnsPublishFailed, time: time, fields: fields)
    }
}

/// One domain as `tally host dns show` reads it back: every SRV record DNS holds for the owner name, this
/// host's marked.
public struct DNSShownDomain: Codable, Sendable, Equatable {
    public struct Record: Codable, Sendable, Equatable {
        public var record: String
        public var ttl: Int
        public var mine: Bool
    }

    public var domain: String
    public var owner: String
    public var records: [Record]
    /// Why the records could not be read, if they could not.
    public var error: String?
    /// What this host remembers publishing there.
    public var published: DNSPublishedRecord?
}

/// Publishes this host's SRV record with signed RFC 2136 updates and remembers what it published.
///
/// Each host adds and deletes only its own record, so any number of hosts share one owner name. A failure
/// in one domain does not stop the others, and never stops the host: it is event 12293 with the response
/// code and a remedy; a success is 12294.
public struct DNSPublisher: Sendable {
    public var directory: StateDirectory
    public var settings: HostSettings
    /// The activation port being served (the real one when the host listens on port 0).
    public var port: Int
    public var resolvConf: ResolverConfiguration
    public var hostName: String
    public var clock: @Sendable () -> Date
    var logger: Logger

    public init(directory: StateDirectory, settings: HostSettings, port: Int,
                resolvConf: ResolverConfiguration = ResolverConfiguration.load().configuration,
                hostName: String = DNSPublisher.machineHostName(), clock: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "tally.host.dns")) {
        self.directory = directory
        self.settings = settings
        self.port = port
        self.resolvConf = resolvConf
        self.hostName = hostName
        self.clock = clock
        self.logger = logger
    }

    /// This machine's host name (`gethostname`).
    public static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The resolver for finding zones: the configured name servers, else resolv.conf's.
    func resolverConfiguration() throws(TallyError) -> ResolverConfiguration {
        var configuration = resolvConf
        if !settings.dnsNameServers.isEmpty {
            configuration.nameServers = []
            for text in settings.dnsNameServers {
                do {
                    configuration.nameServers.append(try DNSServerAddress(parsing: text))
                } catch {
                    throw TallyError(.usageError, "dns-name-servers: \(error.detail)")
                }
            }
        }
        return configuration
    }

    func updater() throws(DNSUpdateError) -> DNSUpdater {
        guard let keyPath = settings.dnsKeyFile else {
            throw DNSUpdateError(.invalidUpdate, "no TSIG key is configured for DNS updates",
                                 remedy: "Make a key on the name server with `tsig-keygen -a hmac-sha256 tally-host > tally-host.key`, copy the file here and "
                                    + "`tally host set dns-key-file PATH`; grant it in the zone with `update-policy { grant tally-host zonesub SRV; };`.")
        }
        let path = keyPath.hasPrefix("/") ? keyPath : directory.file(keyPath).path
        let key: TSIGKey
        do {
            key = try TSIGKey.load(path: path, named: settings.dnsKeyName)
        } catch {
            throw DNSUpdateError(.invalidUpdate, "the TSIG key cannot be read: \(error.message)",
                                 remedy: error.remedy
                                    ?? "Point dns-key-file at the file `tsig-keygen` wrote (`key \"NAME\" { algorithm hmac-sha256; secret \"…\"; };`).")
        }
        let resolver: ResolverConfiguration
        do {
            resolver = try resolverConfiguration()
        } catch {
            throw DNSUpdateError(.invalidUpdate, error.message, remedy: error.remedy)
        }
        var primary: DNSServerAddress?
        if let text = settings.dnsPrimary {
            do {
                primary = try DNSServerAddress(parsing: text)
            } catch {
                throw DNSUpdateError(.invalidUpdate, "dns-primary: \(error.detail)", remedy: "Set dns-primary to ADDR[:PORT], or none.")
            }
        }
        return DNSUpdater(configuration: .init(resolver: resolver, key: key, primary: primary), clock: clock)
    }

    /// The records this host should have, or why there are none.
    public func plan() throws(TallyError) -> [DNSPublishedRecord] {
        try DNSPublishPlan.desired(settings: settings, port: port, defaultDomains: resolvConf.searchDomains, hostName: hostName)
    }

    /// Publishes (or refreshes) the record in every domain of the publish list, replacing this host's old
    /// record where port, priority, weight or target changed, and removing it from domains no longer listed.
    @discardableResult
    public func publish() -> [DNSPublishOutcome] {
        let desired: [DNSPublishedRecord]
        do {
            desired = try plan()
        } catch {
            return [record(failure(.publish, domain: "-", owner: nil, record: nil, code: "CONFIG", error.message, remedy: error.remedy))]
        }
        var outcomes: [DNSPublishOutcome] = []
        let remembered = (try? DNSPublication.load(from: directory)) ?? DNSPublication()
        for record in desired {
            outcomes.append(apply(.publish, domain: record.domain, record: record, remembered: remembered.record(forDomain: record.domain)))
        }
        for old in remembered.records where !desired.contains(where: { DNSPublishPlan.sameName($0.domain, old.domain) }) {
            outcomes.append(apply(.unpublish, domain: old.domain, record: nil, remembered: old))
        }
        return outcomes
    }

    /// Removes this host's record from every domain it published in (decommissioning a host).
    @discardableResult
    public func unpublish() -> [DNSPublishOutcome] {
        let remembered = (try? DNSPublication.load(from: directory)) ?? DNSPublication()
        guard !remembered.records.isEmpty else { return [] }
        return remembered.records.map { apply(.unpublish, domain: $0.domain, record: nil, remembered: $0) }
    }

    private func apply(_ action: DNSPublishOutcome.Action, domain: String, record desired: DNSPublishedRecord?,
                       remembered: DNSPublishedRecord?) -> DNSPublishOutcome {
        let shown = desired ?? remembered
        do {
            let changes: [DNSUpdate.Change]
            if let desired {
                changes = try DNSPublishPlan.changes(to: desired, from: remembered)
            } else if let remembered {
                changes = try DNSPublishPlan.removal(of: remembered)
            } else {
                changes = []
            }
            let owner = try DNSName(shown?.owner ?? domain)
            let receipt = try updater().apply(changes, owner: owner)
            try directory.withLock {
                var publication = try DNSPublication.load(from: directory)
                var confirmed = desired
                confirmed?.published = clock()
                publication.set(confirmed, forDomain: domain)
                try publication.save(to: directory)
            }
            let verb = action == .publish ? (remembered.map { desired.map($0.sameRecords) ?? false } == true ? "refreshed" : "published") : "removed"
            return record(DNSPublishOutcome(action: action, domain: domain, owner: shown?.owner, record: shown?.srvText, succeeded: true, code: nil, rcode: nil, failure: nil,
                                            message: "\(verb) \(shown?.owner ?? domain) SRV \(shown?.srvText ?? "") in zone \(receipt.zone) at \(receipt.server)",
                                            remedy: nil, server: receipt.server.description))
        } catch let error as DNSUpdateError {
            return record(failure(action, domain: domain, owner: shown?.owner, record: shown?.srvText, code: error.codeName, error.message, remedy: error.remedy,
                                  fromServer: error.code != nil))
        } catch let error as TallyError {
            return record(failure(action, domain: domain, owner: shown?.owner, record: shown?.srvText, code: "CONFIG", error.message, remedy: error.remedy))
        } catch {
            return record(failure(action, domain: domain, owner: shown?.owner, record: shown?.srvText, code: "ERROR", "\(error)",
                                  remedy: "Check the host's state directory."))
        }
    }

    /// A failed outcome; `fromServer`: `code` is what the name server answered, else a failure found here.
    private func failure(_ action: DNSPublishOutcome.Action, domain: String, owner: String?, record: String?, code: String,
                         _ message: String, remedy: String, fromServer: Bool = false) -> DNSPublishOutcome {
        DNSPublishOutcome(action: action, domain: domain, owner: owner, record: record, succeeded: false, code: code,
                          rcode: fromServer ? code : nil, failure: fromServer ? nil : code, message: message, remedy: remedy, server: nil)
    }

    /// Logs the outcome (its event is stored by whoever asked: ``publish(recordingIn:)``).
    private func record(_ outcome: DNSPublishOutcome) -> DNSPublishOutcome {
        if outcome.succeeded {
            logger.info("DNS \(outcome.action.rawValue) succeeded", metadata: ["domain": "\(outcome.domain)", "record": "\(outcome.record ?? "")"])
        } else if isUnconfigured {
            logUnconfigured(outcome)
        } else {
            var metadata: Logger.Metadata = ["domain": "\(outcome.domain)", "error": "\(outcome.message)", "remedy": "\(outcome.remedy ?? "")"]
            if let rcode = outcome.rcode { metadata["rcode"] = "\(rcode)" }
            if let failure = outcome.failure { metadata["failure"] = "\(failure)" }
            logger.error("DNS \(outcome.action.rawValue) failed", metadata: metadata)
        }
        return outcome
    }

    /// Nothing about DNS publishing was set up: no publish list and no key file (a host's first starts). Its
    /// failures are expected, so they are not logged as errors.
    var isUnconfigured: Bool { settings.dnsPublishList.isEmpty && settings.dnsKeyFile == nil }

    /// The one-time warning of a host whose publishing was never set up, with the hint.
    static let unconfiguredWarning = "DNS publishing is on but not set up, so clients cannot find this host through DNS (this warning is shown once; "
        + "each start still records event 12293). Set it up: `tally host set dns-publish-list example.com` and "
        + "`tally host set dns-key-file /etc/tally/tally-host.key` (docs/DNS.md), or turn it off: `tally host set dns-publishing off`."

    /// A host that publishing was never set up for: one warning with the hint, the first time (remembered in
    /// `dns-published.json`), then only a debug line. The 12293 event is recorded every time all the same.
    private func logUnconfigured(_ outcome: DNSPublishOutcome) {
        let first = (try? directory.withLock { () throws -> Bool in
            var publication = try DNSPublication.load(from: directory)
            guard publication.unconfiguredWarning == nil else { return false }
            publication.unconfiguredWarning = clock()
            try publication.save(to: directory)
            return true
        }) ?? true
        let metadata: Logger.Metadata = ["reason": "\(outcome.message)", "event": "12293"]
        guard first else {
            logger.debug("DNS publishing is not set up", metadata: metadata)
            return
        }
        logger.warning("\(Self.unconfiguredWarning)", metadata: metadata)
    }

    /// Reads back what DNS holds for the owner name in every domain (listed or remembered), marking this
    /// host's record. Asks the configured primary when there is one, so the answer is not a cached one.
    public func show() -> [DNSShownDomain] {
        let remembered = (try? DNSPublication.load(from: directory)) ?? DNSPublication()
        var wanted = (try? plan()) ?? []
        for old in remembered.records where !wanted.contains(where: { DNSPublishPlan.sameName($0.domain, old.domain) }) {
            wanted.append(old)
        }
        var resolver = (try? resolverConfiguration()) ?? resolvConf
        if let text = settings.dnsPrimary, let primary = try? DNSServerAddress(parsing: text) { resolver.nameServers = [primary] }
        return wanted.map { entry in
            let mine = remembered.record(forDomain: entry.domain)
            var shown = DNSShownDomain(domain: entry.domain, owner: entry.owner, records: [], error: nil, published: mine)
            do {
                let owner = try DNSName(entry.owner)
                let answer = try DNSResolver(configuration: resolver).query(owner, type: .srv)
                if answer.responseCode == .nameError { shown.error = "NXDOMAIN: no records at \(entry.owner)" }
                for record in answer.answers(.srv, for: owner) {
                    guard case .srv(let srv) = record.data else { continue }
                    let isMine = mine.map { Int(srv.port) == $0.port && Int(srv.priority) == $0.priority && Int(srv.weight) == $0.weight
                        && DNSPublishPlan.sameName(srv.target.description, $0.target) } ?? false
                    shown.records.append(.init(record: srv.description, ttl: Int(record.ttl), mine: isMine))
                }
            } catch {
                shown.error = "\(error)"
            }
            return shown
        }
    }
}

extension DNSPublisher {
    /// Publishes on a thread of its own (the updates block on the network), then stores each outcome's event.
    public func publish(recordingIn store: (any HostStore)?) async -> [DNSPublishOutcome] {
        await record(DNSPublisher.offCooperativePool { publish() }, in: store)
    }

    /// Unpublishes likewise.
    public func unpublish(recordingIn store: (any HostStore)?) async -> [DNSPublishOutcome] {
        await record(DNSPublisher.offCooperativePool { unpublish() }, in: store)
    }

    private func record(_ outcomes: [DNSPublishOutcome], in store: (any HostStore)?) async -> [DNSPublishOutcome] {
        guard let store, !outcomes.isEmpty else { return outcomes }
        let time = clock()
        do {
            try await store.append(outcomes.map { $0.event(at: time) })
        } catch {
            logger.error("could not record the DNS event", metadata: ["error": "\(error)"])
        }
        return outcomes
    }

    /// Runs blocking work on a Dispatch thread, so no task of the cooperative pool waits on the network.
    static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
