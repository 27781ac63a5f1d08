import Foundation
import GRDB
import TallyCore

extension VendorLedger {
    /// Records one audit row on its own (a refusal: the request itself wrote nothing).
    public func record(_ audit: VendorAuditRecord) throws(TallyError) {
        try write("record the audit row") { db in try Self.insert(audit, db) }
    }

    static func insert(_ audit: VendorAuditRecord, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO audit (time, kind, channel, address, host_id, key_id, result, message, serial, report_seq, flagged)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [audit.time.timeIntervalSince1970, audit.kind.rawValue, audit.channel.rawValue, audit.address, audit.hostId,
                             audit.keyId, Int64(audit.result.rawValue), audit.message, audit.serial, audit.reportSeq, audit.flagged])
    }

    /// Audit rows from `since` on (all when `nil`), oldest first.
    public func audit(since: Date? = nil, limit: Int = 100_000) throws(TallyError) -> [VendorAuditRecord] {
        try read("read the audit") { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, time, kind, channel, address, host_id, key_id, result, message, serial, report_seq, flagged
                FROM audit WHERE time >= ? ORDER BY seq LIMIT ?
                """, arguments: [since?.timeIntervalSince1970 ?? -Double.greatestFiniteMagnitude, limit]).map { row in
                var record = VendorAuditRecord(time: Date(timeIntervalSince1970: row[1]),
                                               kind: VendorAuditRecord.Kind(rawValue: row[2]) ?? .activation,
                                               channel: VendorAuditRecord.Channel(rawValue: row[3]) ?? .offline,
                                               address: row[4], hostId: row[5], keyId: row[6],
                                               result: TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[7] as Int64)), message: row[8],
                                               serial: row[9], reportSeq: row[10], flagged: row[11])
                record.seq = row[0]
                return record
            }
        }
    }
}
