import Foundation
import TallyCore

/// The host's settings (`settings.json` in the state directory), changed with `tally host set NAME VALUE` and
/// re-read on SIGHUP. KMS's `/sai /sri /sprt /sdns /cdns /spri /cpri` live here.
///
/// Each stored property's initial value is its default; its row in ``table`` (`HostSettings+Table.swift`)
/// gives the rest: name, range, when a change applies, help. A new setting is one property here and one row.
public struct HostSettings: Sendable, Equatable {
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
    /// Admin interface address, or `none`; loopback unless a token file is set.
    public var adminListen = "127.0.0.1:1689"
    /// The file holding the admin bearer token.
    public var adminTokenFile: String?
    /// Group commit: most requests in one transaction.
    public var groupCommitMaxBatch = 256
    /// Group commit: how long to wait for more requests before committing a batch that is not full, µs.
    public var groupCommitMaxWaitMicroseconds = 0
    /// Group commit under load: a small batch starts at least this long after the previous commit began, µs
    /// (``CommitPacing``).
    public var groupCommitMinIntervalMicroseconds = 1000
    /// Group commit on a store whose batch costs one round trip: how long after a commit ended the next batch
    /// waits for the clients it answered, µs (``CommitPacing/regroup(count:maxBatch:window:now:)``).
    public var groupCommitRegroupMicroseconds = 1000
    /// Events older than this many days are deleted.
    public var eventRetentionDays = 400
    /// Clients and sightings whose last day is older than this many days are deleted; usage reports cannot reach
    /// further back.
    public var reportRetentionDays = 400
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
    /// Most open connections on the activation port from one address (IPv6 per /64); more are answered 503.
    public var maxConnectionsPerAddress = 64
    /// Seconds a kept-alive connection may stay idle between requests.
    public var idleTimeoutSeconds = 60
    /// Seconds a client has to send a whole request once it started (a slow sender loses its slot).
    public var readTimeoutSeconds = 10
    /// Requests per second from one address (a token bucket, bursts of twice that); 0 turns the limit off.
    public var rateLimitPerAddress = 1000
    /// Machines new to the host per address (IPv6 per /64) per day, across the site; more are refused uncounted
    /// (0xC0A7000E). 0 turns the budget off.
    public var newMachinesPerAddress = NewMachineBudget.defaultPerAddress
    /// The vendor's online service for renewals and reports, instead of the URL the certificate carries (`vurl`).
    public var vendorURL: String?
    /// A PEM file of the CA(s) trusted for the vendor's TLS certificate, instead of the system's roots.
    public var vendorCaFile: String?
    /// A serving host renews its certificate online when fewer than this many days are left.
    public var renewalMarginDays = RenewalSchedule.defaultMarginDays
    /// A serving host that knows a vendor URL sends its next usage report once a day.
    public var reportSending = true
    /// Where the store's write-ahead log is copied back: `commit` (SQLite's way, inside the commit that crosses
    /// 1,000 pages) or `background` (a thread of its own: more throughput in a storm, a longer p99 at moderate load).
    public var walCheckpoint = "commit"

    /// Where the store is: `sqlite` (the embedded store in the state directory) or `postgresql://USER@HOST:PORT/DB`,
    /// a store shared by several hosts of one licence. Never a password.
    public var store = "sqlite"
    /// The file (mode 0600) holding the PostgreSQL password; without it PGPASSWORD or ~/.pgpass.
    public var storePasswordFile: String?
    /// TLS to PostgreSQL: `disable`, `require` or `verify-full`.
    public var storeSslmode = "disable"
    /// The CA certificates (PEM) that verify PostgreSQL's certificate under `verify-full`; none: the system's.
    public var storeCaFile: String?
    /// Sessions to PostgreSQL at most.
    public var storeMaxConnections = 4

    /// What `settings.json` holds that is not a setting of this version (a typo, or a setting of a newer
    /// tally), and values of the wrong type, by key: written back unchanged by `tally host set`, refused by
    /// ``validated()`` so the host does not start on a file it does not understand.
    public var preserved: [String: PreservedJSON] = [:]

    /// Every setting at its default.
    public init() {}

    /// The row named `name` (as `tally host set` takes it).
    public static func setting(named name: String) -> HostSetting? { table.first { $0.name == name } }

    /// The row named `name`, or a usage error listing the settings.
    public static func requireSetting(named name: String) throws(TallyError) -> HostSetting {
        guard let setting = setting(named: name) else {
            throw TallyError(.usageError, "no setting named '\(name)'",
                             remedy: "Settings: " + table.map(\.name).joined(separator: ", ") + " (`tally host set --help` says what each is).")
        }
        return setting
    }

    /// Sets one setting from text as `tally host set` does; `settings` is unchanged on error. With `context`
    /// the row's set-time check runs too (``HostSetting/init(_:_:key:_:applies:example:help:appliesWhen:check:)``).
    public mutating func set(_ name: String, to value: String, context: SettingContext? = nil) throws(TallyError) {
        try HostSettings.requireSetting(named: name).set(value, in: &self, context: context)
    }

    /// Puts one setting back to its default, or drops a key of the file this version does not know.
    public mutating func reset(_ name: String) throws(TallyError) {
        if let setting = HostSettings.setting(named: name) ?? HostSettings.table.first(where: { $0.key == name }) {
            setting.copy(HostSettings(), &self)
            preserved[setting.key] = nil
        } else if preserved.removeValue(forKey: name) == nil {
            throw TallyError(.usageError, "no setting named '\(name)', and settings.json has no key '\(name)'",
                             remedy: "Settings: " + HostSettings.table.map(\.name).joined(separator: ", ") + ".")
        }
    }
}
