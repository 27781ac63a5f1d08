import Foundation
import TallyCore
import TallyDNS
import TallyFiles

/// The host's settings file (`settings.json` in the state directory), changed with `tally host set NAME VALUE`
/// and re-read on SIGHUP. KMS's `/sai /sri /sprt /sdns /cdns /spri /cpri` live here.
public struct HostSettings: Codable, Sendable, Equatable {
    /// Retry interval handed to clients that are not activated, minutes (`/sai`).
    public var activationInterval = Intervals.defaultActivationMinutes
    /// Renewal interval handed to activated clients, minutes (`/sri`).
    public var renewalInterval = Intervals.defaultRenewalMinutes
    /// Activation port address, `[::]:1688` (all IPv6 and IPv4 addresses) by default (`/sprt`).
    public var listen = "[::]:\(Intervals.defaultPort)"
    /// DNS publishing on or off (`/sdns`, `/cdns`).
    public var dnsPublishing = true
    /// Low priority for the published SRV record (`/spri`, `/cpri`).
    public var lowPriority = false
    /// Admin interface address; loopback unless a token file is set.
    public var adminListen = "127.0.0.1:1689"
    public var adminTokenFile: String?
    /// Group commit: most requests in one transaction.
    public var groupCommitMaxBatch = 256
    /// Group commit: how long to wait for more requests before committing a batch that is not full, µs.
    public var groupCommitMaxWaitMicroseconds = 0
    /// Events older than this many days are deleted.
    public var eventRetentionDays = 400
    /// Domains to publish the SRV record in, each with priority and weight; empty: the resolver's own domain
    /// (the first `search`/`domain` entry of resolv.conf).
    public var dnsPublishList: [DNSPublishEntry] = []
    /// TTL of the published records, seconds.
    public var dnsTTL = 300
    /// The `tsig-keygen` file whose key signs the updates.
    public var dnsKeyFile: String?
    /// Which key of the file, when it holds several.
    public var dnsKeyName: String?
    /// The zone's primary name server `ADDR[:PORT]`, instead of the SOA's MNAME.
    public var dnsPrimary: String?
    /// Name servers `ADDR[:PORT]` for finding the zone, instead of resolv.conf's.
    public var dnsNameServers: [String] = []
    /// The SRV target: this host's DNS name; by default the machine's host name qualified with each domain.
    public var dnsTarget: String?
    /// Addresses published as A/AAAA records of the target (none by default: the target's records are left alone).
    public var dnsAddresses: [String] = []
    /// The service label: clients look up `_<service>._tcp.<domain>` (the catalog's `service`).
    public var dnsService = "tally"

    /// Most open connections on the activation port; more are answered 503 and closed.
    public var maxConnections = 10_000
    /// Seconds a kept-alive connection may stay idle between requests.
    public var idleTimeoutSeconds = 60
    /// Seconds a client has to send a whole request once it started (a slow sender loses its slot).
    public var readTimeoutSeconds = 10
    /// Requests per second from one address (a token bucket, bursts of twice that); 0 turns the limit off.
    public var rateLimitPerAddress = 1000
    /// Where the store's write-ahead log is copied back: `commit` (SQLite's way, inside the commit that crosses
    /// 1,000 pages) or `background` (a thread of its own: more throughput in a storm, a longer p99 at moderate load).
    public var walCheckpoint = "commit"

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HostSettings()
        activationInterval = try c.decodeIfPresent(Int.self, forKey: .activationInterval) ?? d.activationInterval
        renewalInterval = try c.decodeIfPresent(Int.self, forKey: .renewalInterval) ?? d.renewalInterval
        listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? d.listen
        dnsPublishing = try c.decodeIfPresent(Bool.self, forKey: .dnsPublishing) ?? d.dnsPublishing
        lowPriority = try c.decodeIfPresent(Bool.self, forKey: .lowPriority) ?? d.lowPriority
        adminListen = try c.decodeIfPresent(String.self, forKey: .adminListen) ?? d.adminListen
        adminTokenFile = try c.decodeIfPresent(String.self, forKey: .adminTokenFile)
        groupCommitMaxBatch = try c.decodeIfPresent(Int.self, forKey: .groupCommitMaxBatch) ?? d.groupCommitMaxBatch
        groupCommitMaxWaitMicroseconds = try c.decodeIfPresent(Int.self, forKey: .groupCommitMaxWaitMicroseconds) ?? d.groupCommitMaxWaitMicroseconds
        eventRetentionDays = try c.decodeIfPresent(Int.self, forKey: .eventRetentionDays) ?? d.eventRetentionDays
        dnsPublishList = try c.decodeIfPresent([DNSPublishEntry].self, forKey: .dnsPublishList) ?? d.dnsPublishList
        dnsTTL = try c.decodeIfPresent(Int.self, forKey: .dnsTTL) ?? d.dnsTTL
        dnsKeyFile = try c.decodeIfPresent(String.self, forKey: .dnsKeyFile)
        dnsKeyName = try c.decodeIfPresent(String.self, forKey: .dnsKeyName)
        dnsPrimary = try c.decodeIfPresent(String.self, forKey: .dnsPrimary)
        dnsNameServers = try c.decodeIfPresent([String].self, forKey: .dnsNameServers) ?? d.dnsNameServers
        dnsTarget = try c.decodeIfPresent(String.self, forKey: .dnsTarget)
        dnsAddresses = try c.decodeIfPresent([String].self, forKey: .dnsAddresses) ?? d.dnsAddresses
        dnsService = try c.decodeIfPresent(String.self, forKey: .dnsService) ?? d.dnsService
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        idleTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
        readTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .readTimeoutSeconds) ?? d.readTimeoutSeconds
        rateLimitPerAddress = try c.decodeIfPresent(Int.self, forKey: .rateLimitPerAddress) ?? d.rateLimitPerAddress
        walCheckpoint = try c.decodeIfPresent(String.self, forKey: .walCheckpoint) ?? d.walCheckpoint
    }

    /// The names `tally host set` takes, with what each means.
    public static let names: [(name: String, help: String)] = [
        ("activation-interval", "minutes between retries of clients that are not activated (15..43200, default 120)"),
        ("renewal-interval", "minutes between renewals of activated clients (15..43200, default 10080)"),
        ("listen", "activation address ADDR:PORT, e.g. [::]:1688 or 0.0.0.0:1688 (restart to apply)"),
        ("dns-publishing", "on or off"),
        ("low-priority", "on or off"),
        ("admin-listen", "admin address ADDR:PORT (loopback unless admin-token-file is set; restart to apply)"),
        ("admin-token-file", "file holding the admin bearer token, or 'none'; setting or removing it: restart to apply; a new token in the file applies on SIGHUP and ends every session"),
        ("group-commit-max-batch", "requests per transaction at most (1..10000, default 256)"),
        ("group-commit-max-wait-us", "microseconds to wait to fill a batch (0..100000, default 0)"),
        ("event-retention-days", "days of events kept (1..36500, default 400)"),
        ("dns-publish-list", DNSPublishEntry.listHelp),
        ("dns-ttl", "TTL of the published records in seconds (60..86400, default 300)"),
        ("dns-key-file", "the tsig-keygen file whose key signs DNS updates, or none"),
        ("dns-key-name", "which key of that file, or none (the file's only key)"),
        ("dns-primary", "the zone's primary name server ADDR[:PORT], or none (the SOA's MNAME)"),
        ("dns-name-servers", "name servers ADDR[:PORT],... for finding the zone, or none (resolv.conf)"),
        ("dns-target", "the host name published as SRV target, or none (this machine's name in each domain)"),
        ("dns-addresses", "ADDR,... published as A/AAAA records of the target, or none"),
        ("dns-service", "the SRV service label (default tally, as the catalog says)"),
        ("max-connections", "open connections on the activation port at most (1..1000000, default 10000; restart to apply)"),
        ("idle-timeout", "seconds a kept-alive connection may idle (1..3600, default 60; restart to apply)"),
        ("read-timeout", "seconds to receive a whole request (1..300, default 10; restart to apply)"),
        ("wal-checkpoint", "commit (default) or background: where the store's log is copied back (restart to apply)"),
        ("rate-limit", "requests per second from one address, 0 for no limit (0..100000, default 1000, generous for machines behind NAT; restart to apply)"),
    ]

    /// Sets one setting from text, validating it; the value is unchanged on error.
    public mutating func set(_ name: String, to value: String) throws(TallyError) {
        func integer(_ range: ClosedRange<Int>) throws(TallyError) -> Int {
            guard let number = Int(value), range.contains(number) else {
                throw TallyError(.usageError, "\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(value)'")
            }
            return number
        }
        func flag() throws(TallyError) -> Bool {
            switch value.lowercased() {
            case "on", "true", "yes", "1": return true
            case "off", "false", "no", "0": return false
            default: throw TallyError(.usageError, "\(name) must be on or off, not '\(value)'")
            }
        }
        switch name {
        case "activation-interval": activationInterval = try integer(Intervals.minimumMinutes...Intervals.maximumMinutes)
        case "renewal-interval": renewalInterval = try integer(Intervals.minimumMinutes...Intervals.maximumMinutes)
        case "listen": _ = try BindAddress(value); listen = value
        case "dns-publishing": dnsPublishing = try flag()
        case "low-priority": lowPriority = try flag()
        case "admin-listen": _ = try BindAddress(value); adminListen = value
        case "admin-token-file": adminTokenFile = value == "none" ? nil : value
        case "group-commit-max-batch": groupCommitMaxBatch = try integer(1...10_000)
        case "group-commit-max-wait-us": groupCommitMaxWaitMicroseconds = try integer(0...100_000)
        case "event-retention-days": eventRetentionDays = try integer(1...36_500)
        case "max-connections": maxConnections = try integer(1...1_000_000)
        case "idle-timeout": idleTimeoutSeconds = try integer(1...3600)
        case "read-timeout": readTimeoutSeconds = try integer(1...300)
        case "rate-limit": rateLimitPerAddress = try integer(0...100_000)
        case "wal-checkpoint":
            guard ["commit", "background"].contains(value) else {
                throw TallyError(.usageError, "wal-checkpoint must be commit or background, not '\(value)'")
            }
            walCheckpoint = value
        case "dns-publish-list": dnsPublishList = try DNSPublishEntry.parseList(value)
        case "dns-ttl": dnsTTL = try integer(60...86_400)
        case "dns-key-file": dnsKeyFile = value == "none" ? nil : value
        case "dns-key-name": dnsKeyName = value == "none" ? nil : value
        case "dns-primary":
            if value != "none" {
                do { _ = try DNSServerAddress(parsing: value) } catch { throw TallyError(.usageError, "dns-primary: \(error.detail)") }
            }
            dnsPrimary = value == "none" ? nil : value
        case "dns-name-servers":
            let list = value == "none" ? [] : value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for server in list {
                do { _ = try DNSServerAddress(parsing: server) } catch { throw TallyError(.usageError, "dns-name-servers: \(error.detail)") }
            }
            dnsNameServers = list
        case "dns-target":
            if value != "none", (try? DNSName(value)) == nil { throw TallyError(.usageError, "dns-target: '\(value)' is not a host name") }
            dnsTarget = value == "none" ? nil : value
        case "dns-addresses":
            let list = value == "none" ? [] : value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for address in list where DNSIPv4Address(address) == nil && DNSIPv6Address(address) == nil {
                throw TallyError(.usageError, "dns-addresses: '\(address)' is not an IPv4 or IPv6 address")
            }
            dnsAddresses = list
        case "dns-service":
            guard !value.isEmpty, value.count <= 62, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw TallyError(.usageError, "dns-service: '\(value)' is not a service label")
            }
            dnsService = value
        default:
            throw TallyError(.usageError, "no setting named '\(name)'",
                             remedy: "Settings: " + HostSettings.names.map(\.name).joined(separator: ", "))
        }
    }

    /// Checks every value against the ranges `set` enforces, so a hand-edited file cannot make the host trap
    /// (a timeout that overflows, a negative connection limit). Used on load and on SIGHUP.
    public func validated() throws(TallyError) -> HostSettings {
        var copy = HostSettings()
        let values: [(String, String)] = [
            ("activation-interval", String(activationInterval)), ("renewal-interval", String(renewalInterval)),
            ("listen", listen), ("admin-listen", adminListen),
            ("group-commit-max-batch", String(groupCommitMaxBatch)), ("group-commit-max-wait-us", String(groupCommitMaxWaitMicroseconds)),
            ("event-retention-days", String(eventRetentionDays)), ("dns-ttl", String(dnsTTL)),
            ("max-connections", String(maxConnections)), ("idle-timeout", String(idleTimeoutSeconds)),
            ("read-timeout", String(readTimeoutSeconds)), ("rate-limit", String(rateLimitPerAddress)),
            ("wal-checkpoint", walCheckpoint),
        ]
        for (name, value) in values {
            do {
                try copy.set(name, to: value)
            } catch {
                throw TallyError(.usageError, "settings.json: \(error.message)",
                                 remedy: "Fix the value with `tally host set \(name) VALUE` (or edit settings.json), then start or reload the host.")
            }
        }
        return self
    }

    static let fileName = "settings.json"

    /// Reads the settings file; a missing file gives the defaults, a corrupt one an error.
    ///
    /// `validating: false` is for `tally host set`, which must be able to repair a value that is out of range.
    public static func load(from directory: StateDirectory, validating: Bool = true) throws -> HostSettings {
        guard directory.exists(fileName) else { return HostSettings() }
        let settings = try directory.readJSON(HostSettings.self, from: fileName)
        return validating ? try settings.validated() : settings
    }

    public func save(to directory: StateDirectory) throws {
        try directory.withLock { try directory.writeJSON(self, to: HostSettings.fileName) }
    }
}

/// An address to listen on: `[::]:1688`, `0.0.0.0:1688`, `127.0.0.1:0`, `localhost:1688`.
public struct BindAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(_ text: String) throws(TallyError) {
        let invalid = TallyError(.usageError, "'\(text)' is not ADDR:PORT (e.g. [::]:1688, 0.0.0.0:1688, 127.0.0.1:0)")
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw invalid }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { throw invalid }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65_535).contains(port) else { throw invalid }
        host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
