import Foundation
import GRDB
import TallyCore

/// Cloned images: one CMID seen with several fingerprints. The index's `fingerprints` holds the machines of such
/// CMIDs; the log's `clone_reports` remembers which fingerprints were already reported and `clone_report_days`
/// the day each CMID was last reported, so event 12300 is written at most once a day per CMID and only when it has
/// a fingerprint not reported before, also across restarts. The event and the dashboard list at most
/// ``CloneLimits/listed`` machines with the total, so a script sending one CMID with random fingerprints cannot
/// make either grow without bound.
///
/// The report is one transaction on the log's writer, which has the index attached as `idx` for reading.
extension SQLiteHostStore {
    public func reportClones(_ candidates: [CloneCandidate], event: @Sendable (CloneReport, Date) -> TallyEvent) async throws -> [CloneReport] {
        var reports: [CloneReport] = []
        for candidate in candidates {
            do {
                if let report = try await log.writeWithoutTransaction({ db in try SQLiteHostStore.report(candidate, event: event, db) }) {
                    reports.append(report)
                }
            } catch {
                throw SQLiteHostStore.storeError("record a cloned image", error)
            }
        }
        return reports
    }

    private static func report(_ candidate: CloneCandidate, event: (CloneReport, Date) -> TallyEvent, _ db: Database) throws -> CloneReport? {
        let firstDay = candidate.day - Intervals.countWindowDays + 1
        let limit = CloneLimits.listed
        var report: CloneReport?
        try db.inTransaction {
            if let last = try Int.fetchOne(db, sql: "SELECT day FROM clone_report_days WHERE cmid = ?", arguments: [candidate.cmid]), last >= candidate.day {
                return .rollback
            }
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM idx.fingerprints WHERE cmid = ? AND last_day >= ?",
                                         arguments: [candidate.cmid, firstDay]) ?? 0
            guard total > 1 else { return .rollback }
            let new = try sightings(db, sql: """
                SELECT fingerprint, machine, last_day FROM idx.fingerprints f WHERE cmid = ? AND last_day >= ?
                AND NOT EXISTS (SELECT 1 FROM clone_reports r WHERE r.cmid = f.cmid AND r.fingerprint = f.fingerprint)
                ORDER BY last_day DESC, fingerprint LIMIT ?
                """, arguments: [candidate.cmid, firstDay, limit])
            try db.execute(sql: """
                INSERT OR IGNORE INTO clone_reports (cmid, fingerprint, day)
                SELECT cmid, fingerprint, ? FROM idx.fingerprints WHERE cmid = ? AND last_day >= ?
                """, arguments: [candidate.day, candidate.cmid, firstDay])
            let newCount = db.changesCount
            guard newCount > 0 else { return .rollback }
            var machines = new
            if machines.count < limit {
                let listed = Set(new.map(\.fingerprint))
                let others = try newestSightings(db, cmid: candidate.cmid, since: firstDay, limit: limit)
                machines += others.filter { !listed.contains($0.fingerprint) }.prefix(limit - machines.count)
            }
            try db.execute(sql: "INSERT INTO clone_report_days (cmid, day) VALUES (?, ?) ON CONFLICT (cmid) DO UPDATE SET day = excluded.day",
                           arguments: [candidate.cmid, candidate.day])
            let made = CloneReport(image: ClonedImage(cmid: candidate.cmid, machines: machines, machineCount: total),
                                   newFingerprints: new.map(\.fingerprint), newFingerprintCount: newCount)
            try insert(event(made, candidate.time), db)
            report = made
            return .commit
        }
        return report
    }

    public func clonedImages(since firstDay: Int, limit: Int = 20) async throws -> [ClonedImage] {
        try await catchUp()
        do {
            return try await log.writeWithoutTransaction { db in
                // Start from what was reported (a small table), not from every fingerprint.
                let cmids = try String.fetchAll(db, sql: "SELECT cmid FROM clone_report_days ORDER BY day DESC, cmid")
                let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM idx.fingerprints WHERE cmid = ? AND last_day >= ?")
                var found: [ClonedImage] = []
                for cmid in cmids where found.count < limit {
                    let machineCount = try Int.fetchOne(count, arguments: [cmid, firstDay]) ?? 0
                    guard machineCount > 1 else { continue }
                    let machines = try SQLiteHostStore.newestSightings(db, cmid: cmid, since: firstDay, limit: CloneLimits.listed)
                    found.append(ClonedImage(cmid: cmid, machines: machines, machineCount: machineCount))
                }
                return found
            }
        } catch {
            throw SQLiteHostStore.storeError("list cloned images", error)
        }
    }

    private static func newestSightings(_ db: Database, cmid: String, since firstDay: Int, limit: Int) throws -> [FingerprintSighting] {
        try sightings(db, sql: "SELECT fingerprint, machine, last_day FROM idx.fingerprints WHERE cmid = ? AND last_day >= ? ORDER BY last_day DESC, fingerprint LIMIT ?",
                      arguments: [cmid, firstDay, limit])
    }

    private static func sightings(_ db: Database, sql: String, arguments: StatementArguments) throws -> [FingerprintSighting] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { FingerprintSighting(fingerprint: $0[0], machine: $0[1], lastDay: $0[2]) }
    }
}
