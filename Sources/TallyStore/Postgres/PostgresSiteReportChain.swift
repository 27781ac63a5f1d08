import Foundation
import Logging
import PostgresNIO
import TallyCore

/// The site's usage-report chain in the shared store (`usage_reports`): a report is appended under the
/// maintenance advisory lock, in one transaction that reads the chain's end, so two hosts reporting at once make
/// reports 1 and 2 of one chain, never two reports 1. Receipts are kept beside the reports, so any host of the
/// site sends what the vendor has not acknowledged.
struct PostgresSiteReportChain: SiteReportChain {
    let pool: PostgresSessionPool
    let hostID: String
    let logger: Logger

    func append(_ sign: @escaping @Sendable (SiteReportChainEnd) throws -> SiteReport?) async throws -> SiteReport? {
        try await pool.withMaintenanceSession("append the site's usage report") { session in
            try await session.query("BEGIN", logger: logger)
            do {
                try await PostgresHostStore.takeMaintenanceLock(session, logger: logger)
                guard let report = try sign(try await end(session)) else {
                    try await session.query("ROLLBACK", logger: logger)
                    return nil
                }
                try await session.query("""
                    INSERT INTO usage_reports (seq, hash, period_to, report, host_id, made)
                    VALUES (\(report.seq), \(report.hash), \(report.to), \(report.report), \(report.host), extract(epoch from now()))
                    """, logger: logger)
                try await session.query("COMMIT", logger: logger)
                return report
            } catch {
                _ = try? await session.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    func end() async throws -> SiteReportChainEnd {
        try await pool.withMaintenanceSession("read the site's report chain") { session in try await end(session) }
    }

    private func end(_ session: PostgresConnection) async throws -> SiteReportChainEnd {
        var site: String?
        for try await id in try await session.query("SELECT site_id FROM site WHERE id = 1", logger: logger).decode(String.self) { site = id }
        guard let site else {
            throw TallyError(.hostNotActivated, "the shared store names no site yet: no host with a certificate has opened it",
                             remedy: "Activate the host (`tally host activate`) and start it once on the store.")
        }
        var end = SiteReportChainEnd(site: site, seq: 0, hash: "", to: nil, hosts: [])
        for try await (seq, hash, to) in try await session.query("SELECT seq, hash, period_to FROM usage_reports ORDER BY seq DESC LIMIT 1",
                                                                 logger: logger).decode((Int, String, String).self) {
            end.seq = seq
            end.hash = hash
            end.to = to
        }
        for try await host in try await session.query("SELECT host_id FROM hosts ORDER BY host_id", logger: logger).decode(String.self) {
            end.hosts.append(host)
        }
        return end
    }

    func unacknowledged() async throws -> [SiteReport] {
        try await pool.withMaintenanceSession("read the site's unacknowledged reports") { session in
            var reports: [SiteReport] = []
            for try await (seq, report, hash, to, host) in try await session.query("""
                SELECT seq, report, hash, period_to, host_id FROM usage_reports
                WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM usage_reports WHERE receipt IS NOT NULL) ORDER BY seq
                """, logger: logger).decode((Int, String, String, String, String).self) {
                reports.append(SiteReport(seq: seq, report: report, hash: hash, to: to, host: host))
            }
            return reports
        }
    }

    func receipts() async throws -> [Int: String] {
        try await pool.withMaintenanceSession("read the site's report receipts") { session in
            var receipts: [Int: String] = [:]
            for try await (seq, receipt) in try await session.query("SELECT seq, receipt FROM usage_reports WHERE receipt IS NOT NULL",
                                                                    logger: logger).decode((Int, String).self) {
                receipts[seq] = receipt
            }
            return receipts
        }
    }

    func keepReceipt(_ receipt: String, seq: Int) async throws {
        try await pool.withMaintenanceSession("keep the report receipt") { session in
            _ = try await session.query("UPDATE usage_reports SET receipt = \(receipt) WHERE seq = \(seq)", logger: logger)
        }
    }
}

extension PostgresHostStore {
    public var siteReportChain: (any SiteReportChain)? {
        PostgresSiteReportChain(pool: pool, hostID: configuration.hostID, logger: logger)
    }
}
