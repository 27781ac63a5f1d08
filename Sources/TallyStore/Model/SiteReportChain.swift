import Foundation
import TallyCore

/// The usage-report chain of a site whose hosts share one store: kept in the store, so a report made by any host
/// follows the last report of the site, whichever host made that one. A store a single host keeps has none (its
/// chain is the host's `report-chain.json`).
public protocol SiteReportChain: Sendable {
    /// Appends the site's next report: reads the chain's end, calls `sign` with it, and stores what `sign` returns,
    /// one host at a time (a second host waits, then extends the report the first one made). Nothing is stored
    /// when `sign` throws or returns `nil` (nothing left to report: `nil` is returned).
    func append(_ sign: @escaping @Sendable (SiteReportChainEnd) throws -> SiteReport?) async throws -> SiteReport?

    /// The chain's end: the last report's number, hash and last day (`seq` 0 before the first).
    func end() async throws -> SiteReportChainEnd

    /// The site's reports the vendor has not acknowledged yet (after the newest receipt), oldest first.
    func unacknowledged() async throws -> [SiteReport]

    /// The receipts kept, by `seq`.
    func receipts() async throws -> [Int: String]

    /// Keeps the vendor's receipt for report `seq`.
    func keepReceipt(_ receipt: String, seq: Int) async throws
}

/// Where a site's report chain ends, and what the next report needs to say about the site.
public struct SiteReportChainEnd: Sendable, Equatable {
    /// The site's id (made by the store when the first host claimed it): the chain's name at the vendor.
    public var site: String
    public var seq: Int
    /// SHA-256 (hex) of the last report's compact form; empty before the first.
    public var hash: String
    /// The last report's last day (`YYYY-MM-DD`), `nil` before the first.
    public var to: String?
    /// The hosts that have used the store.
    public var hosts: [String]

    public init(site: String, seq: Int, hash: String, to: String?, hosts: [String]) {
        self.site = site
        self.seq = seq
        self.hash = hash
        self.to = to
        self.hosts = hosts
    }
}

/// One report of a site's chain.
public struct SiteReport: Sendable, Equatable {
    public var seq: Int
    /// The compact JWS.
    public var report: String
    public var hash: String
    public var to: String
    /// The host that made it.
    public var host: String

    public init(seq: Int, report: String, hash: String, to: String, host: String) {
        self.seq = seq
        self.report = report
        self.hash = hash
        self.to = to
        self.host = host
    }
}
