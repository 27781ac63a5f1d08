import Foundation
import TallyCore

/// What `tally vendor reports` shows for one licensee host: its latest acknowledged usage report, the machines
/// per SKU and class in it, the numbers missing from its chain, and the refused reports flagged for it.
public struct HostReportSummary: Codable, Sendable, Equatable {
    public struct Latest: Codable, Sendable, Equatable {
        public var seq: Int
        public var from: String
        public var to: String
        public var receivedAt: Date
        public var hash: String
    }

    /// Report numbers the vendor does not hold, between 1 and the latest.
    public struct Gap: Codable, Sendable, Equatable {
        public var from: Int
        public var to: Int
    }

    public var hostId: String
    /// The host key whose certificate signed the latest report.
    public var keyId: String?
    /// How many reports the vendor acknowledged.
    public var reports: Int
    public var latest: Latest?
    /// Per SKU and class in the latest report: the largest daily count and the sum of daily counts.
    public var machines: [UsageReportAudit.Total]
    public var gaps: [Gap]
    /// Distinct host key pairs that signed the acknowledged reports (more than one: re-keyed or copied).
    public var keyPairs: Int
    public var flags: [VendorLedger.ReportFlag]

    /// One summary per host that sent a report (acknowledged or refused), by host id; one per site (`site:ID`) for
    /// the hosts that share a store.
    public static func summarise(_ reports: [VendorLedger.AcknowledgedReport], flags: [VendorLedger.ReportFlag],
                                 keyID: (String) -> String?) -> [HostReportSummary] {
        // A site's hosts share one chain (`site:ID`): summarised once, not per host (each report covers the site).
        let byHost = Dictionary(grouping: reports, by: \.chain)
        let flagsByHost = Dictionary(grouping: flags, by: \.hostId)
        return Set(byHost.keys).union(flagsByHost.keys).sorted().map { hostID in
            let chain = (byHost[hostID] ?? []).sorted { $0.seq < $1.seq }
            let last = chain.last
            var gaps: [Gap] = []
            var expected = 1
            for report in chain {
                if report.seq > expected { gaps.append(Gap(from: expected, to: report.seq - 1)) }
                expected = report.seq + 1
            }
            let machines = last.map {
                UsageReportAudit.totals([UsageReportClaims(iss: $0.hostId, from: $0.from, to: $0.to, usage: $0.usage, seq: $0.seq, prv: $0.prv,
                                                           iat: $0.receivedAt)])
            } ?? []
            return HostReportSummary(hostId: hostID, keyId: last.flatMap { keyID($0.keyHash) }, reports: chain.count,
                                     latest: last.map { Latest(seq: $0.seq, from: $0.from, to: $0.to, receivedAt: $0.receivedAt, hash: $0.hash) },
                                     machines: machines, gaps: gaps, keyPairs: Dictionary(grouping: chain, by: \.hostId).values.map { Set($0.map(\.hostKey)).count }.max() ?? 0, flags: flagsByHost[hostID] ?? [])
        }
    }
}
