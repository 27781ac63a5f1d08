import Foundation
import GRDB
import TallyCore

extension VendorLedger {
    /// A report as the vendor acknowledged it.
    public struct AcknowledgedReport: Codable, Sendable, Equatable {
        /// The host that signed it.
        public var hostId: String
        /// Its chain: the host id, or `site:ID` for a site whose hosts share a store (``UsageReportClaims/chain``).
        public var chain: String
        public var seq: Int
        public var hash: String
        public var prv: String
        public var from: String
        public var to: String
        /// The host public key (`cnf.jwk.x` of its certificate) that signed it.
        public var hostKey: String
        /// The hash of the host key whose certificate signed it.
        public var keyHash: String
        public var receivedAt: Date
        public var usage: [UsageReportClaims.DayUsage]
        public var receipt: String

        public init(report: VerifiedUsageReport, receivedAt: Date, receipt: String = "") {
            hostId = report.claims.iss
            chain = report.claims.chain
            seq = report.claims.seq
            hash = VerifiedUsageReport.hash(report.compact)
            prv = report.claims.prv
            from = report.claims.from
            to = report.claims.to
            hostKey = report.certificate.claims.cnf.jwk.x
            keyHash = report.certificate.claims.hkh
            self.receivedAt = receivedAt
            usage = report.claims.usage
            self.receipt = receipt
        }
    }

    /// Applies ``ReportChainRule`` to `report` against the host's acknowledged reports and, when it is accepted,
    /// stores it with the receipt `sign` makes for it, in one transaction. A repeated report gets its old
    /// receipt. A refusal stores the report's hash as a flag and an audit row, and is thrown.
    public func acknowledge(_ report: AcknowledgedReport, audit: VendorAuditRecord, sign: () throws -> String) throws(TallyError) -> (receipt: String, repeated: Bool) {
        let outcome: Result<(String, Bool), TallyError> = try write("record the usage report") { db in
            func link(_ seq: Int) throws -> ReportChainRule.Link? {
                try Row.fetchOne(db, sql: "SELECT hash, prv, receipt FROM reports WHERE chain = ? AND seq = ?", arguments: [report.chain, seq])
                    .map { ReportChainRule.Link(seq: seq, hash: $0[0], prv: $0[1], receipt: $0[2]) }
            }
            var row = audit
            row.keyId = try String.fetchOne(db, sql: "SELECT key_id FROM host_keys WHERE hash = ?", arguments: [report.keyHash])
            switch ReportChainRule.decide(hostID: report.chain, seq: report.seq, hash: report.hash, prv: report.prv,
                                          before: try link(report.seq - 1), at: try link(report.seq), after: try link(report.seq + 1)) {
            case let .repeated(receipt):
                row.message = "report \(report.seq) received again; the receipt given before is repeated"
                try Self.insert(row, db)
                return .success((receipt, true))
            case let .refuse(code, message):
                try db.execute(sql: "INSERT INTO report_flags (host_id, seq, hash, time, code, message) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [report.chain, report.seq, report.hash, audit.time.timeIntervalSince1970, Int64(code.rawValue), message])
                try Self.insert(row.refused(TallyError(code, message), flagged: true), db)
                return .failure(TallyError(code, message))
            case .accept:
                let receipt = try sign()
                let usage = String(decoding: try TallyJSON.encode(report.usage), as: UTF8.self)
                try db.execute(sql: """
                    INSERT INTO reports (chain, host_id, seq, hash, prv, period_from, period_to, host_key, key_hash, received_at, usage, receipt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [report.chain, report.hostId, report.seq, report.hash, report.prv, report.from, report.to, report.hostKey, report.keyHash,
                                     report.receivedAt.timeIntervalSince1970, usage, receipt])
                try Self.insert(row, db)
                return .success((receipt, false))
            }
        }
        // The flag is committed with the transaction; only then is the refusal thrown.
        return try outcome.get()
    }

    /// Every acknowledged report of every host, by host and `seq`.
    public func acknowledgedReports() throws(TallyError) -> [AcknowledgedReport] {
        try read("read the usage reports") { db in
            try Row.fetchAll(db, sql: """
                SELECT host_id, seq, hash, prv, period_from, period_to, host_key, key_hash, received_at, usage, receipt, chain
                FROM reports ORDER BY chain, seq
                """).map { row in
                var report = AcknowledgedReport(hostId: row[0], seq: row[1], hash: row[2], prv: row[3], from: row[4], to: row[5], hostKey: row[6],
                                                keyHash: row[7], receivedAt: Date(timeIntervalSince1970: row[8]), usage: [], receipt: row[10], chain: row[11])
                report.usage = (try? TallyJSON.decode([UsageReportClaims.DayUsage].self, from: Data((row[9] as String).utf8))) ?? []
                return report
            }
        }
    }

    /// A refused report, flagged.
    public struct ReportFlag: Codable, Sendable, Equatable {
        /// The chain flagged: a host id, or `site:ID`.
        public var hostId: String
        public var seq: Int
        public var hash: String
        public var time: Date
        public var code: TallyCore.ResultCode
        public var message: String
    }

    public func reportFlags() throws(TallyError) -> [ReportFlag] {
        try read("read the report flags") { db in
            try Row.fetchAll(db, sql: "SELECT host_id, seq, hash, time, code, message FROM report_flags ORDER BY id").map { row in
                ReportFlag(hostId: row[0], seq: row[1], hash: row[2], time: Date(timeIntervalSince1970: row[3]),
                           code: TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[4] as Int64)), message: row[5])
            }
        }
    }
}

extension VendorLedger.AcknowledgedReport {
    init(hostId: String, seq: Int, hash: String, prv: String, from: String, to: String, hostKey: String, keyHash: String, receivedAt: Date,
         usage: [UsageReportClaims.DayUsage], receipt: String, chain: String? = nil) {
        self.hostId = hostId
        self.chain = chain ?? hostId
        self.seq = seq
        self.hash = hash
        self.prv = prv
        self.from = from
        self.to = to
        self.hostKey = hostKey
        self.keyHash = keyHash
        self.receivedAt = receivedAt
        self.usage = usage
        self.receipt = receipt
    }
}
