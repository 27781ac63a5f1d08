import Foundation
import GRDB
import TallyCore

/// A `host.sqlite` as the host before the rebuild wrote it (schema version 3, one file): the SQL of its migrations
/// 1–3 and of its commit, as `git show 5e1aa7c:Sources/TallyStore/SQLiteHostStore.swift` (and `+Clones.swift`)
/// has them, run under the same migration identifiers, so the store of today's host must migrate it in place.
public final class LegacyHostStore {
    public static let migrations = ["1-clients-sightings-events", "2-clone-reports", "3-clone-report-days"]

    private let pool: DatabasePool

    /// Creates the file at `path` with the version 3 schema.
    public init(path: String) throws {
        pool = try DatabasePool(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration(Self.migrations[0]) { db in
            try db.execute(sql: """
                CREATE TABLE clients (
                    cmid TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, fingerprint TEXT NOT NULL,
                    machine TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
                    last_result INTEGER NOT NULL, requests INTEGER NOT NULL, ticket_expires REAL,
                    license_status TEXT NOT NULL,
                    PRIMARY KEY (cmid, sku)) WITHOUT ROWID;
                CREATE TABLE sightings (
                    cmid TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, sku, day)) WITHOUT ROWID;
                CREATE INDEX sightings_by_day ON sightings (day, class);
                CREATE TABLE fingerprints (
                    cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, machine TEXT NOT NULL, last_day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL, time REAL NOT NULL,
                    result INTEGER, fields TEXT NOT NULL);
                CREATE INDEX events_by_time ON events (time);
                CREATE TABLE request_totals (result INTEGER PRIMARY KEY, requests INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration(Self.migrations[1]) { db in
            try db.execute(sql: """
                CREATE TABLE clone_reports (
                    cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
                CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290;
                """)
        }
        migrator.registerMigration(Self.migrations[2]) { db in
            try db.execute(sql: """
                CREATE TABLE clone_report_days (cmid TEXT NOT NULL PRIMARY KEY, day INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO clone_report_days (cmid, day) SELECT cmid, MAX(day) FROM clone_reports GROUP BY cmid;
                CREATE INDEX clone_report_days_by_day ON clone_report_days (day);
                """)
        }
        try migrator.migrate(pool)
    }

    /// One request as the old commit stored it: a counted one upserts its client, sighting and fingerprint; every
    /// one adds its 12290 event (fields as JSON) and one to its result's total.
    public func record(cmid: String, sku: String, productClass: String?, fingerprint: String, machine: String, time: Date,
                       result: TallyCore.ResultCode, currentCount: Int, requiredCount: Int, ticketExpires: Date?, licenseStatus: String) throws {
        try pool.write { db in
            let day = CountWindow.day(of: time)
            let seconds = time.timeIntervalSince1970
            if let productClass {
                try db.execute(sql: """
                    INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_result, requests, ticket_expires, license_status)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                    ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint,
                        machine = excluded.machine, last_seen = excluded.last_seen, last_result = excluded.last_result,
                        requests = requests + 1, ticket_expires = COALESCE(excluded.ticket_expires, ticket_expires),
                        license_status = excluded.license_status
                    """, arguments: [cmid, sku, productClass, fingerprint, machine, seconds, seconds, Int64(result.rawValue),
                                     ticketExpires?.timeIntervalSince1970, licenseStatus])
                try db.execute(sql: "INSERT OR IGNORE INTO sightings (cmid, sku, class, day) VALUES (?, ?, ?, ?)",
                               arguments: [cmid, sku, productClass, day])
                try db.execute(sql: """
                    INSERT INTO fingerprints (cmid, fingerprint, machine, last_day) VALUES (?, ?, ?, ?)
                    ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine, last_day = MAX(last_day, excluded.last_day)
                    """, arguments: [cmid, fingerprint, machine, day])
            }
            try db.execute(sql: """
                INSERT INTO request_totals (result, requests) VALUES (?, 1)
                ON CONFLICT (result) DO UPDATE SET requests = requests + excluded.requests
                """, arguments: [Int64(result.rawValue)])
            try Self.insert(TallyEvent(id: .requestHandled, time: time, result: result, fields: Self.fields(
                cmid: cmid, sku: sku, fingerprint: fingerprint, machine: machine, time: time, currentCount: currentCount, requiredCount: requiredCount,
                licenseStatus: licenseStatus)), db)
        }
    }

    /// The old 12290 fields (`ActivationService.eventFields` of that version).
    static func fields(cmid: String, sku: String, fingerprint: String, machine: String, time: Date, currentCount: Int, requiredCount: Int,
                       licenseStatus: String) -> [String: String] {
        ["minCount": String(requiredCount), "currentCount": String(currentCount), "machine": machine, "cmid": cmid, "fingerprint": fingerprint,
         "clientTime": String(Int(time.timeIntervalSince1970)), "licenseStatus": licenseStatus, "sku": sku, "minutesToExpiry": "43200", "vm": "",
         "address": "192.0.2.7:50000"]
    }

    /// Another event (DNS publishing, a start failure), as the old `append`.
    public func append(_ event: TallyEvent) throws {
        try pool.write { try Self.insert(event, $0) }
    }

    /// A clone report as the old `reportClone` left it: each fingerprint marked, the day, and the 12300 event.
    public func reportClone(cmid: String, fingerprints: [String], day: Int, event: TallyEvent) throws {
        try pool.write { db in
            for fingerprint in fingerprints {
                try db.execute(sql: "INSERT OR IGNORE INTO clone_reports (cmid, fingerprint, day) VALUES (?, ?, ?)", arguments: [cmid, fingerprint, day])
            }
            try db.execute(sql: "INSERT INTO clone_report_days (cmid, day) VALUES (?, ?) ON CONFLICT (cmid) DO UPDATE SET day = excluded.day",
                           arguments: [cmid, day])
            try Self.insert(event, db)
        }
    }

    private static func insert(_ event: TallyEvent, _ db: Database) throws {
        let fields = String(decoding: try JSONEncoder().encode(event.fields), as: UTF8.self)
        try db.execute(sql: "INSERT INTO events (event_id, time, result, fields) VALUES (?, ?, ?, ?)",
                       arguments: [event.id.rawValue, event.time.timeIntervalSince1970, event.result.map { Int64($0.rawValue) }, fields])
    }

    public func close() throws { try pool.close() }

    /// Adds a migration identifier this Tally does not know to the file's migrations (a store from a newer Tally).
    public static func markNewer(path: String, migration: String = "99-from-a-newer-tally") throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [migration]) }
        try queue.close()
    }

    /// Removes what ``markNewer(path:migration:)`` added.
    public static func unmarkNewer(path: String, migration: String = "99-from-a-newer-tally") throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [migration]) }
        try queue.close()
    }

    /// What a Tally before the log's sequence floor left once its retention had deleted every event: an empty log
    /// (migrated to version 4, no `seq_floor`) beside an index that has applied its old rows.
    public static func emptyLogWithoutFloor(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "DELETE FROM events; DROP TABLE seq_floor; DELETE FROM grdb_migrations WHERE identifier = '5-seq-floor'")
        }
        try queue.close()
    }

    /// An index as a Tally before `log_days` wrote it: without the log's days and results per day.
    public static func indexWithoutLogDays(path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                DROP TABLE log_days; DROP TABLE results_by_day; DROP TABLE log_days_pending;
                DELETE FROM grdb_migrations WHERE identifier = '3-log-days'
                """)
        }
        try queue.close()
    }

    /// The migration identifiers the file records.
    public static func appliedMigrations(path: String) throws -> [String] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
    }
}
