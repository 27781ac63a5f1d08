import Foundation
import GRDB
import Logging
import TallyCore

/// The SQLite store's numbered migrations, for the log (`host.sqlite`) and the index (`host-index.sqlite`).
///
/// Until version 3 one file held everything (clients, sightings, fingerprints, totals, events, clone reports).
/// Opening such a store builds the index from its tables into a new file (under a temporary name, renamed when
/// complete, so a crash leaves either no index or a whole one), then migration 4 of the log rebuilds `events`
/// with the columns of a request row and drops the tables that moved.
enum SQLiteSchema {
    static let lastSingleFileMigration = "3-clone-report-days"

    static var logMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-clients-sightings-events") { db in
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
        migrator.registerMigration("2-clone-reports") { db in
            try db.execute(sql: """
                CREATE TABLE clone_reports (
                    cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
                CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290;
                """)
        }
        migrator.registerMigration(lastSingleFileMigration) { db in
            try db.execute(sql: """
                CREATE TABLE clone_report_days (cmid TEXT NOT NULL PRIMARY KEY, day INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO clone_report_days (cmid, day) SELECT cmid, MAX(day) FROM clone_reports GROUP BY cmid;
                CREATE INDEX clone_report_days_by_day ON clone_report_days (day);
                """)
        }
        // The log: a request's row carries its fields as columns (other events keep JSON), the sequence is the
        // row id (no AUTOINCREMENT, whose counter row would be rewritten by every commit), and the tables that
        // moved to the index go.
        migrator.registerMigration("4-log") { db in
            try db.execute(sql: """
                CREATE TABLE events_log (
                    seq INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, time REAL NOT NULL, result INTEGER, fields TEXT,
                    cmid TEXT, sku TEXT, class TEXT, fingerprint TEXT, machine TEXT, client_time INTEGER, license_status TEXT,
                    min_count INTEGER, current_count INTEGER, minutes_to_expiry INTEGER, vm INTEGER, address TEXT,
                    counted INTEGER, ticket_expires REAL);
                INSERT INTO events_log (seq, event_id, time, result, fields) SELECT seq, event_id, time, result, fields FROM events ORDER BY seq;
                DROP TABLE events;
                ALTER TABLE events_log RENAME TO events;
                CREATE INDEX events_by_time ON events (time);
                CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290;
                DROP TABLE clients;
                DROP TABLE sightings;
                DROP TABLE fingerprints;
                DROP TABLE request_totals;
                """)
        }
        // The floor of the log's sequence (see ``LogSequence``): retention can no longer make it start over.
        migrator.registerMigration("5-seq-floor") { db in
            try db.execute(sql: """
                CREATE TABLE seq_floor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                INSERT INTO seq_floor (id, seq) VALUES (1, COALESCE((SELECT MAX(seq) FROM events), 0));
                """)
        }
        // No time index on request rows: its tail page was one more page written by every commit (0.9 KB per
        // activation at 16 connections). What it answered comes from the index (``LogDays``); the other events,
        // few, keep one.
        migrator.registerMigration("6-no-request-time-index") { db in
            try db.execute(sql: """
                DROP INDEX events_by_time;
                CREATE INDEX events_other_by_time ON events (time) WHERE event_id != 12290;
                """)
        }
        return migrator
    }

    static var indexMigrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-index") { db in
            try db.execute(sql: """
                CREATE TABLE clients (
                    cmid TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, fingerprint TEXT NOT NULL,
                    machine TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, last_day INTEGER NOT NULL,
                    last_result INTEGER NOT NULL, requests INTEGER NOT NULL, ticket_expires REAL,
                    license_status TEXT NOT NULL,
                    PRIMARY KEY (cmid, sku)) WITHOUT ROWID;
                CREATE TABLE sightings (
                    day INTEGER NOT NULL, sku TEXT NOT NULL, cmid TEXT NOT NULL, class TEXT NOT NULL,
                    PRIMARY KEY (day, sku, cmid)) WITHOUT ROWID;
                CREATE TABLE fingerprints (
                    cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, machine TEXT NOT NULL, last_day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
                CREATE TABLE machine_days (
                    class TEXT NOT NULL, day INTEGER NOT NULL, machines INTEGER NOT NULL,
                    PRIMARY KEY (class, day)) WITHOUT ROWID;
                CREATE TABLE request_totals (result INTEGER PRIMARY KEY, requests INTEGER NOT NULL);
                CREATE TABLE applied (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                INSERT INTO applied (id, seq) VALUES (1, 0);
                """)
        }
        // Machines new to their class per day and address block (IPv6 by /64): the per-address budget after a
        // restart, and how much of a day's new machines came from the busiest addresses. Rows indexed before
        // this migration are not counted in it.
        migrator.registerMigration("2-new-machines") { db in
            try db.execute(sql: """
                CREATE TABLE new_machines (
                    day INTEGER NOT NULL, block TEXT NOT NULL, machines INTEGER NOT NULL,
                    PRIMARY KEY (day, block)) WITHOUT ROWID;
                """)
        }
        // What the log's time index answered, derived (see ``LogDays``): the first and last request row of each
        // day, and requests per day and result. Filled from the log once, at the next open (`log_days_pending`).
        migrator.registerMigration("3-log-days") { db in
            try db.execute(sql: """
                CREATE TABLE log_days (day INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL);
                CREATE TABLE results_by_day (
                    day INTEGER NOT NULL, result INTEGER NOT NULL, requests INTEGER NOT NULL,
                    PRIMARY KEY (day, result)) WITHOUT ROWID;
                CREATE TABLE log_days_pending (id INTEGER PRIMARY KEY CHECK (id = 1));
                INSERT INTO log_days_pending (id) VALUES (1);
                """)
        }
        return migrator
    }

    /// Migrates the index; refuses one written by a newer Tally (whose tables this one could misread).
    static func migrateIndex(_ index: DatabasePool, path: String) throws {
        let migrator = indexMigrator
        let (applied, superseded) = try index.read { db in (try migrator.appliedIdentifiers(db), try migrator.hasBeenSuperseded(db)) }
        guard !superseded else {
            throw TallyError(.storeUnavailable, "the store's index \(path) was written by a newer version of Tally (its migrations: \(applied.sorted().joined(separator: ", ")))",
                             remedy: "Run the newer version of Tally, or remove the index (it is made again from the log, without the clients from before a migration of a single-file store).")
        }
        try migrator.migrate(index)
    }

    /// Migrates the log and makes the index file when it is missing; refuses a store written by a newer Tally.
    static func prepare(log: DatabasePool, indexPath: String, logger: Logger) throws {
        let migrator = logMigrator
        let (applied, superseded) = try log.read { db in (try migrator.appliedIdentifiers(db), try migrator.hasBeenSuperseded(db)) }
        guard !superseded else {
            throw TallyError(.storeUnavailable, "the store was written by a newer version of Tally (its migrations: \(applied.sorted().joined(separator: ", ")))",
                             remedy: "Run the newer version of Tally, or restore a backup made by this one.")
        }
        if applied.contains("4-log") {
            if !FileManager.default.fileExists(atPath: indexPath) {
                logger.warning("the store's index is missing: it is made again from the log (clients whose requests are older than the event retention, or from before the store was migrated from a single file, are lost)",
                               metadata: ["index": "\(indexPath)"])
                try buildIndexIfMissing(log: log, indexPath: indexPath, logger: logger, fromSingleFile: false)
            }
            // A log of version 4 or later: the migrations after it (none when it is up to date).
            try migrator.migrate(log)
            return
        }
        // Migrations 1–3 are what a store of every earlier version has, so an old file is recognised.
        try migrator.migrate(log, upTo: lastSingleFileMigration)
        try buildIndexIfMissing(log: log, indexPath: indexPath, logger: logger, fromSingleFile: !applied.isEmpty)
        try migrator.migrate(log)
    }

    /// Makes the index when it is missing: from the tables of a single-file store (version 3), or empty.
    static func buildIndexIfMissing(log: DatabasePool, indexPath: String, logger: Logger, fromSingleFile: Bool) throws {
        let files = FileManager.default
        guard !files.fileExists(atPath: indexPath) else { return }
        let building = indexPath + ".building"
        for suffix in ["", "-journal", "-wal", "-shm"] { try? files.removeItem(atPath: building + suffix) }
        // Rollback journal while building: when it is closed nothing but the file remains to rename.
        do {
            let queue = try DatabaseQueue(path: building)
            try indexMigrator.migrate(queue)
            try queue.close()
        }
        let hasOldTables = try fromSingleFile && log.read { try $0.tableExists("clients") }
        let started = Date()
        try log.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS idx", arguments: [building])
            defer { try? db.execute(sql: "DETACH DATABASE idx") }
            try db.inTransaction {
                if hasOldTables {
                    try db.execute(sql: """
                        INSERT INTO idx.clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
                            SELECT c.cmid, c.sku, c.class, c.fingerprint, c.machine, c.first_seen, c.last_seen,
                                   COALESCE((SELECT MAX(s.day) FROM main.sightings s WHERE s.cmid = c.cmid AND s.sku = c.sku), CAST(c.last_seen / 86400 AS INTEGER)),
                                   c.last_result, c.requests, c.ticket_expires, c.license_status
                            FROM main.clients c ORDER BY c.cmid, c.sku;
                        INSERT INTO idx.sightings (day, sku, cmid, class) SELECT day, sku, cmid, class FROM main.sightings ORDER BY day, sku, cmid;
                        INSERT INTO idx.fingerprints (cmid, fingerprint, machine, last_day)
                            SELECT cmid, fingerprint, machine, last_day FROM main.fingerprints
                            WHERE cmid IN (SELECT cmid FROM main.fingerprints GROUP BY cmid HAVING COUNT(*) > 1) ORDER BY cmid, fingerprint;
                        INSERT INTO idx.machine_days (class, day, machines)
                            SELECT class, last_day, COUNT(*) FROM (SELECT cmid, class, MAX(last_day) AS last_day FROM idx.clients GROUP BY cmid, class)
                            GROUP BY class, last_day;
                        INSERT INTO idx.request_totals (result, requests) SELECT result, requests FROM main.request_totals;
                        UPDATE idx.applied SET seq = COALESCE((SELECT MAX(seq) FROM main.events), 0);
                        """)
                }
                return .commit
            }
        }
        // The complete index takes its name in one step, made durable before the log's old tables may go.
        guard rename(building, indexPath) == 0 else {
            throw TallyError(.storeUnavailable, "could not move the new index into place at \(indexPath): \(String(cString: strerror(errno)))")
        }
        let directory = open(URL(fileURLWithPath: indexPath).deletingLastPathComponent().path, O_RDONLY)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
        if hasOldTables {
            logger.notice("store migrated: the index was built from the single-file store",
                          metadata: ["index": "\(indexPath)", "seconds": "\(Date().timeIntervalSince(started))"])
        }
    }
}
