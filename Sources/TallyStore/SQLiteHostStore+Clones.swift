import Foundation
import GRDB
import TallyCore

/// A machine seen under one CMID: one fingerprint with the name it last sent.
public struct FingerprintSighting: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var machine: String
    public var lastDay: Int

    public init(fingerprint: String, machine: String, lastDay: Int) {
        self.fingerprint = fingerprint
        self.machine = machine
        self.lastDay = lastDay
    }
}

/// One CMID seen from several machines in the count window, as event 12300 and the dashboard show it: a bounded
/// list of its machines and how many there are in all.
public struct ClonedImage: Sendable, Equatable {
    public var cmid: String
    /// At most ``SQLiteHostStore/cloneListLimit`` machines, newest first.
    public var machines: [FingerprintSighting]
    /// Every machine (fingerprint) seen with this CMID in the window.
    public var machineCount: Int

    public init(cmid: String, machines: [FingerprintSighting], machineCount: Int) {
        self.cmid = cmid
        self.machines = machines
        self.machineCount = machineCount
    }
}

/// What one report of a cloned image (event 12300) says.
public struct CloneReport: Sendable, Equatable {
    /// The machines listed start with the newly reported ones.
    public var image: ClonedImage
    /// Fingerprints not reported before, at most ``SQLiteHostStore/cloneListLimit`` of them.
    public var newFingerprints: [String]
    /// How many fingerprints this report is the first to report.
    public var newFingerprintCount: Int
}

/// What the clone detector needs to know about a CMID it has just seen.
public enum CloneState: Sendable, Equatable {
    /// At most one fingerprint in the window: no clone.
    case single
    /// Several fingerprints in the window. `reportedThatDay`: event 12300 was already written for it on the day
    /// it was seen; `unreportedSeen`: one of the fingerprints just seen was never reported.
    case several(reportedThatDay: Bool, unreportedSeen: Bool)
}

/// Cloned images: one CMID seen with several fingerprints. `clone_reports` remembers which fingerprints were
/// already reported, `clone_report_days` the day each CMID was last reported, so event 12300 is written at most
/// once a day per CMID and only when it has a fingerprint not reported before, also across restarts. The event
/// and the dashboard list at most ``cloneListLimit`` machines with the total, so a script sending one CMID with
/// random fingerprints cannot make either grow without bound. The same migration indexes the rare events
/// (everything but 12290, so the per-request insert pays nothing) for the dashboard's "latest 12293/12294/12300"
/// look-ups.
extension SQLiteHostStore {
    /// Machines named in one event 12300 or one dashboard warning at most.
    public static let cloneListLimit = 20

    static func createCloneReports(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE clone_reports (
                cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, day INTEGER NOT NULL,
                PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
            CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290;
            """)
    }

    static func createCloneReportDays(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE clone_report_days (cmid TEXT NOT NULL PRIMARY KEY, day INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO clone_report_days (cmid, day) SELECT cmid, MAX(day) FROM clone_reports GROUP BY cmid;
            CREATE INDEX clone_report_days_by_day ON clone_report_days (day);
            """)
    }

    /// For each CMID just seen (on `day`, with `fingerprints`): whether it has several fingerprints in the count
    /// window ending that day, was reported that day, and sent a fingerprint never reported. Point look-ups only,
    /// however many fingerprints a CMID has.
    public func cloneStates(_ seen: [(cmid: String, day: Int, fingerprints: [String])]) throws -> [String: CloneState] {
        guard !seen.isEmpty else { return [:] }
        do {
            return try pool.read { db in
                let reportedDay = try db.cachedStatement(sql: "SELECT day FROM clone_report_days WHERE cmid = ?")
                let several = try db.cachedStatement(sql: "SELECT COUNT(*) FROM (SELECT 1 FROM fingerprints WHERE cmid = ? AND last_day >= ? LIMIT 2)")
                let reported = try db.cachedStatement(sql: "SELECT 1 FROM clone_reports WHERE cmid = ? AND fingerprint = ?")
                var states: [String: CloneState] = [:]
                for item in seen {
                    let firstDay = item.day - Intervals.countWindowDays + 1
                    guard try Int.fetchOne(several, arguments: [item.cmid, firstDay]) ?? 0 > 1 else {
                        states[item.cmid] = .single
                        continue
                    }
                    let reportedThatDay = try Int.fetchOne(reportedDay, arguments: [item.cmid]).map { $0 >= item.day } ?? false
                    let unreportedSeen = try item.fingerprints.contains { try Int.fetchOne(reported, arguments: [item.cmid, $0]) == nil }
                    states[item.cmid] = .several(reportedThatDay: reportedThatDay, unreportedSeen: unreportedSeen)
                }
                return states
            }
        } catch {
            throw SQLiteHostStore.storeError("look for cloned images", error)
        }
    }

    /// Reports `cmid` as a cloned image on `day`, in one transaction: marks every fingerprint of the window
    /// reported and stores `event`, unless the CMID was already reported that day or has no fingerprint that was
    /// not reported before (then nothing changes and the answer is `nil`).
    public func reportClone(cmid: String, day: Int, event: (CloneReport) -> TallyEvent) throws -> CloneReport? {
        let firstDay = day - Intervals.countWindowDays + 1
        let limit = SQLiteHostStore.cloneListLimit
        do {
            return try pool.write { db in
                if let last = try Int.fetchOne(db, sql: "SELECT day FROM clone_report_days WHERE cmid = ?", arguments: [cmid]), last >= day {
                    return nil
                }
                let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM fingerprints WHERE cmid = ? AND last_day >= ?", arguments: [cmid, firstDay]) ?? 0
                guard total > 1 else { return nil }
                let new = try SQLiteHostStore.sightings(db, sql: """
                    SELECT fingerprint, machine, last_day FROM fingerprints f WHERE cmid = ? AND last_day >= ?
                    AND NOT EXISTS (SELECT 1 FROM clone_reports r WHERE r.cmid = f.cmid AND r.fingerprint = f.fingerprint)
                    ORDER BY last_day DESC, fingerprint LIMIT ?
                    """, arguments: [cmid, firstDay, limit])
                try db.execute(sql: """
                    INSERT OR IGNORE INTO clone_reports (cmid, fingerprint, day)
                    SELECT cmid, fingerprint, ? FROM fingerprints WHERE cmid = ? AND last_day >= ?
                    """, arguments: [day, cmid, firstDay])
                let newCount = db.changesCount
                guard newCount > 0 else { return nil }
                var machines = new
                if machines.count < limit {
                    let listed = Set(new.map(\.fingerprint))
                    let others = try SQLiteHostStore.newestSightings(db, cmid: cmid, since: firstDay, limit: limit)
                    machines += others.filter { !listed.contains($0.fingerprint) }.prefix(limit - machines.count)
                }
                try db.execute(sql: "INSERT INTO clone_report_days (cmid, day) VALUES (?, ?) ON CONFLICT (cmid) DO UPDATE SET day = excluded.day",
                               arguments: [cmid, day])
                let report = CloneReport(image: ClonedImage(cmid: cmid, machines: machines, machineCount: total),
                                         newFingerprints: new.map(\.fingerprint), newFingerprintCount: newCount)
                try insert(event(report), db)
                return report
            }
        } catch {
            throw SQLiteHostStore.storeError("record a cloned image", error)
        }
    }

    /// Reported CMIDs that still have several fingerprints in the window, most recently reported first, each with
    /// its newest machines (at most ``cloneListLimit``) and their number: the dashboard's warning.
    public func clonedImages(since firstDay: Int, limit: Int = 20) throws -> [ClonedImage] {
        do {
            return try pool.read { db in
                // Start from what was reported (a small table), not from every fingerprint.
                let cmids = try String.fetchCursor(db, sql: "SELECT cmid FROM clone_report_days ORDER BY day DESC, cmid")
                let count = try db.cachedStatement(sql: "SELECT COUNT(*) FROM fingerprints WHERE cmid = ? AND last_day >= ?")
                var found: [ClonedImage] = []
                while found.count < limit, let cmid = try cmids.next() {
                    let machineCount = try Int.fetchOne(count, arguments: [cmid, firstDay]) ?? 0
                    guard machineCount > 1 else { continue }
                    let machines = try SQLiteHostStore.newestSightings(db, cmid: cmid, since: firstDay, limit: SQLiteHostStore.cloneListLimit)
                    found.append(ClonedImage(cmid: cmid, machines: machines, machineCount: machineCount))
                }
                return found
            }
        } catch {
            throw SQLiteHostStore.storeError("list cloned images", error)
        }
    }

    private static func newestSightings(_ db: Database, cmid: String, since firstDay: Int, limit: Int) throws -> [FingerprintSighting] {
        try sightings(db, sql: "SELECT fingerprint, machine, last_day FROM fingerprints WHERE cmid = ? AND last_day >= ? ORDER BY last_day DESC, fingerprint LIMIT ?",
                      arguments: [cmid, firstDay, limit])
    }

    private static func sightings(_ db: Database, sql: String, arguments: StatementArguments) throws -> [FingerprintSighting] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).map { FingerprintSighting(fingerprint: $0[0], machine: $0[1], lastDay: $0[2]) }
    }
}
