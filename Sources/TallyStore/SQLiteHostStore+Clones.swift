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

/// Cloned images: one CMID seen with several fingerprints. `clone_reports` remembers which fingerprints were
/// already reported, so event 12300 is written once per new fingerprint, also across restarts. The same
/// migration indexes the rare events (everything but 12290, so the per-request insert pays nothing) for the
/// dashboard's "latest 12293/12294/12300" look-ups.
extension SQLiteHostStore {
    static func createCloneReports(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE clone_reports (
                cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, day INTEGER NOT NULL,
                PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
            CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290;
            """)
    }

    /// The fingerprints seen for `cmid` on or after `firstDay`, oldest first.
    public func fingerprints(of cmid: String, since firstDay: Int) throws -> [FingerprintSighting] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT fingerprint, machine, last_day FROM fingerprints WHERE cmid = ? AND last_day >= ? ORDER BY last_day, fingerprint",
                                 arguments: [cmid, firstDay]).map { FingerprintSighting(fingerprint: $0[0], machine: $0[1], lastDay: $0[2]) }
            }
        } catch {
            throw SQLiteHostStore.storeError("read the fingerprints of \(cmid)", error)
        }
    }

    /// Of `cmids`, those seen with more than one fingerprint on or after `firstDay`.
    public func cmidsWithSeveralFingerprints(among cmids: [String], since firstDay: Int) throws -> [String] {
        guard !cmids.isEmpty else { return [] }
        do {
            return try pool.read { db in
                var found: [String] = []
                // SQLite allows 32766 variables; stay well below.
                for chunk in stride(from: 0, to: cmids.count, by: 500).map({ Array(cmids[$0..<min($0 + 500, cmids.count)]) }) {
                    let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    let arguments = StatementArguments(chunk) + [firstDay]
                    found += try String.fetchAll(db, sql: "SELECT cmid FROM fingerprints WHERE cmid IN (\(marks)) AND last_day >= ? GROUP BY cmid HAVING COUNT(*) > 1",
                                                 arguments: arguments)
                }
                return found
            }
        } catch {
            throw SQLiteHostStore.storeError("look for cloned images", error)
        }
    }

    /// Marks `fingerprints` of `cmid` reported and stores `event`, in one transaction, when at least one of them
    /// was not reported before. Returns the newly reported fingerprints (empty: nothing new, no event).
    public func reportClone(cmid: String, fingerprints: [String], day: Int, event: (_ newFingerprints: [String]) -> TallyEvent) throws -> [String] {
        do {
            return try pool.write { db in
                var new: [String] = []
                for fingerprint in fingerprints {
                    try db.execute(sql: "INSERT OR IGNORE INTO clone_reports (cmid, fingerprint, day) VALUES (?, ?, ?)", arguments: [cmid, fingerprint, day])
                    if db.changesCount > 0 { new.append(fingerprint) }
                }
                if !new.isEmpty {
                    try insert(event(new), db)
                }
                return new
            }
        } catch {
            throw SQLiteHostStore.storeError("record a cloned image", error)
        }
    }

    /// Reported CMIDs that still have several fingerprints in the window, with their machines: the dashboard's warning.
    public func clonedImages(since firstDay: Int, limit: Int = 20) throws -> [(cmid: String, machines: [FingerprintSighting])] {
        do {
            return try pool.read { db in
                // Start from what was reported (a small table), not from every fingerprint.
                let cmids = try String.fetchAll(db, sql: "SELECT cmid FROM clone_reports GROUP BY cmid ORDER BY MAX(day) DESC")
                var found: [(cmid: String, machines: [FingerprintSighting])] = []
                for cmid in cmids where found.count < limit {
                    let machines = try Row.fetchAll(db, sql: "SELECT fingerprint, machine, last_day FROM fingerprints WHERE cmid = ? AND last_day >= ? ORDER BY last_day, fingerprint",
                                                    arguments: [cmid, firstDay]).map { FingerprintSighting(fingerprint: $0[0], machine: $0[1], lastDay: $0[2]) }
                    if machines.count > 1 { found.append((cmid, machines)) }
                }
                return found
            }
        } catch {
            throw SQLiteHostStore.storeError("list cloned images", error)
        }
    }
}
