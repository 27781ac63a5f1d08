import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyStore

/// The host's `dli`: identity, activation, count per class against its threshold, addresses, intervals and
/// cumulative requests by result. Read from the store, so it works whether or not the host runs.
public struct HostStatusReport: Codable, Sendable {
    public struct ClassCount: Codable, Sendable, Equatable {
        public var currentCount: Int
        public var requiredCount: Int

        public init(currentCount: Int, requiredCount: Int) {
            self.currentCount = currentCount
            self.requiredCount = requiredCount
        }
    }

    public struct ResultTotal: Codable, Sendable, Equatable {
        public var result: ResultCode
        public var name: String
        public var requests: Int
    }

    public var hostId: String
    public var keyId: String
    public var activated: Bool
    public var certificateExpires: Date?
    /// From 30 days before the certificate ends: how long it has left and what to do.
    public var certificateWarning: String?
    public var problem: String?
    public var skus: [CertifiedSKU]
    public var classes: [String: ClassCount]
    public var listen: String
    public var activationInterval: Int
    public var renewalInterval: Int
    public var dnsPublishing: Bool
    public var lowPriority: Bool
    public var totalRequests: Int
    public var failedRequests: Int
    public var requestsByResult: [ResultTotal]
    /// With a shared (PostgreSQL) store: the hosts serving the site, with their last answers.
    public var siteHosts: [StoreHost]? = nil

    /// `store`: the serving host's open store; otherwise the store file is opened when it exists.
    public static func read(directory: StateDirectory, now: Date = Date(), store open: (any HostStore)? = nil) async throws -> HostStatusReport {
        let identity = try HostIdentity(directory: directory).status(now: now)
        let settings = try HostSettings.load(from: directory)
        var classes: [String: ClassCount] = [:]
        var totals: [ResultCode: Int] = [:]
        let storePath = directory.file(HostRuntime.storeFile).path
        var counts: [String: Int] = [:]
        var shared: (any HostStore)?
        var siteHosts: [StoreHost]?
        if open == nil, settings.store != "sqlite" {
            shared = try await HostStoreOpening.open(settings, directory: directory, hostID: identity.hostId + "-status", certificate: nil, serving: false,
                                                     logger: Logger(label: "tally.status"))
        }
        if let store = try open ?? shared ?? (FileManager.default.fileExists(atPath: storePath) ? SQLiteHostStore(path: storePath) : nil) {
            counts = try await store.counts(now: now)
            totals = try await store.totals()
            siteHosts = try await (store as? PostgresHostStore)?.hosts()
        }
        try await shared?.close()
        for (productClass, threshold) in identity.thresholds {
            classes[productClass] = ClassCount(currentCount: counts[productClass] ?? 0, requiredCount: threshold)
        }
        let byResult = totals.sorted { $0.key < $1.key }.map { ResultTotal(result: $0.key, name: $0.key.info?.name ?? "unknown", requests: $0.value) }
        let total = totals.values.reduce(0, +)
        let failed = totals.filter { $0.key != .success && $0.key != .countTooLow }.values.reduce(0, +)
        return HostStatusReport(hostId: identity.hostId, keyId: identity.keyId, activated: identity.activated,
                                certificateExpires: identity.certificateExpires,
                                certificateWarning: identity.certificateExpires.flatMap { DashboardWarnings.certificateExpiry(expires: $0, now: now) }
                                    .map { $0.text + " " + $0.remedy },
                                problem: identity.problem, skus: identity.skus,
                                classes: classes, listen: settings.listen, activationInterval: settings.activationInterval,
                                renewalInterval: settings.renewalInterval, dnsPublishing: settings.dnsPublishing,
                                lowPriority: settings.lowPriority, totalRequests: total, failedRequests: failed, requestsByResult: byResult,
                                siteHosts: siteHosts)
    }
}
