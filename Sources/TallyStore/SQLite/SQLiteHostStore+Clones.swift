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
/// The machines are read from the index, then what is reported is written to the log in one transaction with its
/// event. (The log's writer never has the index attached: an attached file's locks would make every activation
/// wait for the indexer's commits.)
extension SQLiteHostStore {
    /// Fingerprints of one CMID marked reported by one event at most; more wait for a later day.
    static let clonesMarkedPerReport = 10_000

    public func reportClones(_ candidates: [CloneCandidate], event: @escaping @Sendable (CloneReport, Date) -> TallyEvent) async throws -> [CloneReport] {
        var reports: [CloneReport] = []
        for candidate in candidates {
            do {
                let firstDay = candidate.day - Intervals.countWindowDays + 1
                let (total, machines) = try await index.read { db in
                    (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM fingerprints WHERE cmid = ? AND last_day >= ?",
                                      arguments: [candidate.cmid, firstDay]) ?? 0,
                     try SQLiteHostStore.sightings(db, cmid: candidate.cmid, since: firstDay, limit: SQLiteHostStore.clonesMarkedPerReport))
                }
                guard total > 1 else { continue }
                if let report = try await log.writeWithoutTransaction({ db in
                    try SQLiteHostStore.report(candidate, total: total, machines: machines, event: event, db)
                }) {
                    reports.append(report)
                }
            } catch {
                throw SQLiteHostStore.storeError("record a cloned image", error)
            }
        }
        return reports
    }

    /// Marks `machines` reported and stores the event, unless the CMID was reported that day or none is new.
    private static func report(_ candidate: CloneCandidate, total: Int, machines: [FingerprintSighting],
                               event: (CloneReport, Date) -> TallyEvent, _ db: Database) throws -> CloneReport? {
        let limit = CloneLimits.listed
        var report: CloneReport?
        try db.inTransaction {
            if let last = try Int.fetchOne(db, sql: "SELECT day FROM clone_report_days WHERE cmid = ?", arguments: [candidate.cmid]), last >= candidate.day {
                return .rollback
            }
            let mark = try db.cachedStatement(sql: "INSERT OR IGNORE INTO clone_reports (cmid, fingerprint, day) VALUES (?, ?, ?)")
            var new: [FingerprintSighting] = []
            var newCount = 0
            for machine in machines {
                try mark.execute(arguments: [candidate.cmid, machine.fingerprint, candidate.day])
                guard db.changesCount > 0 else { continue }
                newCount += 1
                if new.count < limit { new.append(machine) }
            }
            guard newCount > 0 else { return .rollback }
            let listed = Set(new.map(\.fingerprint))
            let shown = new + machines.filter { !listed.contains($0.fingerprint) }.prefix(limit - new.count)
            try db.execute(sql: "INSERT INTO clone_report_days (cmid, day) VALUES (?, ?) ON CONFLICT (cmid) DO UPDATE SET day = excluded.day",
                           arguments: [candidate.cmid, candidate.day])
            let made = CloneReport(image: ClonedImage(cmid: candidate.cmid, machines: Array(shown), machineCount: total),
                                   newFingerprints: new.map(\.fingerprint), newFingerprintCount: newCount)
            try insert(event(made, candidate.time), seq: try LogSequence.next(db), db)
            report = made
            return .commit
        }
        return report
    }

    public func clonedImages(since firstDay: Int, limit: Int = 20) async throws -> [ClonedImage] {
        try await catchUp()
        do {
            // Start from what was reported (a small table), not from every fingerprint.
            let cmids = try await log.read { try String.fetchAll($0, sql: "SELECT cmid FROM clone_report_days ORDER BY day DESC, cmid") }
            return try await index.read { db in
                let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM fingerprints WHERE cmid = ? AND last_day >= ?")
                var found: [ClonedImage] = []
                for cmid in cmids where found.count < limit {
                    let machineCount = try Int.fetchOne(count, arguments: [cmid, firstDay]) ?? 0
                    guard machineCount > 1 else { continue }
                    let machines = try SQLiteHostStore.sightings(db, cmid: cmid, since: firstDay, limit: CloneLimits.listed)
                    found.append(ClonedImage(cmid: cmid, machines: machines, machineCount: machineCount))
                }
                return found
            }
        } catch {
            throw SQLiteHostStore.storeError("list cloned images", error)
        }
    }

    /// A CMID's machines in the window, newest first.
    private static func sightings(_ db: Database, cmid: String, since firstDay: Int, limit: Int) throws -> [FingerprintSighting] {
        try Row.fetchAll(db, sql: "SELECT fingerprint, machine, last_day FROM fingerprints WHERE cmid = ? AND last_day >= ? ORDER BY last_day DESC, fingerprint LIMIT ?",
                         arguments: [cmid, firstDay, limit]).map { FingerprintSighting(fingerprint: $0[0], machine: $0[1], lastDay: $0[2]) }
    }
}
