import Foundation
import GRDB
import TallyCore

/// The vendor's ledger in SQLite (`ledger.sqlite` in the vendor's state directory; GRDB, WAL, `synchronous=FULL`,
/// numbered migrations): the host keys (their hashes, never the keys), the hosts and key pairs each unlocked, every
/// certificate issued, every request answered or refused (the audit), and the usage reports acknowledged.
///
/// Offline activation (`vendor activate-host`) and online activation (`vendor serve`) share it. Each unlock is
/// decided and recorded in one immediate transaction, so two requests (threads or processes) for a key's last
/// free unlock cannot both see it free.
public final class VendorLedger: Sendable {
    public let path: String
    let pool: DatabasePool

    public init(path: String) throws(TallyError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "tally-vendor-ledger"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets synchronous=NORMAL on its writer after opening: an answered unlock must survive power loss.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrator.migrate(pool)
        } catch {
            throw Self.storeError("open the vendor ledger at \(path)", error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-host-keys") { db in
            try db.execute(sql: """
                CREATE TABLE host_keys (
                    key_id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, grp TEXT NOT NULL, max_hosts INTEGER NOT NULL,
                    max_activations_per_host INTEGER NOT NULL, blocked INTEGER NOT NULL DEFAULT 0, issued_at REAL NOT NULL);
                CREATE TABLE hosts (
                    key_hash TEXT NOT NULL, host_id TEXT NOT NULL, first_activated REAL NOT NULL, last_serial INTEGER NOT NULL,
                    position INTEGER NOT NULL, PRIMARY KEY (key_hash, host_id)) WITHOUT ROWID;
                CREATE TABLE key_pairs (
                    key_hash TEXT NOT NULL, host_id TEXT NOT NULL, thumbprint TEXT NOT NULL, position INTEGER NOT NULL,
                    PRIMARY KEY (key_hash, host_id, thumbprint)) WITHOUT ROWID;
                CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("2-certificates") { db in
            try db.execute(sql: """
                CREATE TABLE certificates (
                    serial INTEGER PRIMARY KEY, host_id TEXT NOT NULL, key_hash TEXT NOT NULL, thumbprint TEXT NOT NULL,
                    kid TEXT NOT NULL, issued_at REAL NOT NULL, expires_at REAL NOT NULL, channel TEXT NOT NULL);
                CREATE INDEX certificates_by_kid ON certificates (kid, expires_at);
                """)
        }
        migrator.registerMigration("3-audit") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, kind TEXT NOT NULL, channel TEXT NOT NULL,
                    address TEXT, host_id TEXT, key_id TEXT, result INTEGER NOT NULL, message TEXT NOT NULL,
                    serial INTEGER, report_seq INTEGER, flagged INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX audit_by_time ON audit (time);
                """)
        }
        migrator.registerMigration("4-reports") { db in
            try db.execute(sql: """
                CREATE TABLE reports (
                    host_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, prv TEXT NOT NULL,
                    period_from TEXT NOT NULL, period_to TEXT NOT NULL, host_key TEXT NOT NULL, key_hash TEXT NOT NULL,
                    received_at REAL NOT NULL, usage TEXT NOT NULL, receipt TEXT NOT NULL,
                    PRIMARY KEY (host_id, seq)) WITHOUT ROWID;
                CREATE TABLE report_flags (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, host_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
                    time REAL NOT NULL, code INTEGER NOT NULL, message TEXT NOT NULL);
                CREATE INDEX report_flags_by_host ON report_flags (host_id);
                """)
        }
        migrator.registerMigration("5-report-chains") { db in
            // The hosts of a site that share a store make one chain (`site:ID`): reports are kept per chain and `seq`,
            // with the host that signed each. A host's own chain is named by its host id, as before.
            try db.execute(sql: """
                CREATE TABLE reports_by_chain (
                    chain TEXT NOT NULL, seq INTEGER NOT NULL, host_id TEXT NOT NULL, hash TEXT NOT NULL, prv TEXT NOT NULL,
                    period_from TEXT NOT NULL, period_to TEXT NOT NULL, host_key TEXT NOT NULL, key_hash TEXT NOT NULL,
                    received_at REAL NOT NULL, usage TEXT NOT NULL, receipt TEXT NOT NULL,
                    PRIMARY KEY (chain, seq)) WITHOUT ROWID;
                INSERT INTO reports_by_chain SELECT host_id, seq, host_id, hash, prv, period_from, period_to, host_key, key_hash, received_at, usage, receipt FROM reports;
                DROP TABLE reports;
                ALTER TABLE reports_by_chain RENAME TO reports;
                """)
        }
        return migrator
    }

    /// The names of the migrations applied, in order.
    public func appliedMigrations() throws(TallyError) -> [String] {
        try read("read the migrations") { db in try Self.migrator.appliedMigrations(db) }
    }

    func read<T>(_ what: String, _ body: (Database) throws -> T) throws(TallyError) -> T {
        do {
            return try pool.read(body)
        } catch let error as TallyError {
            throw error
        } catch {
            throw Self.storeError(what, error)
        }
    }

    func write<T>(_ what: String, _ body: (Database) throws -> T) throws(TallyError) -> T {
        do {
            return try pool.write(body)
        } catch let error as TallyError {
            throw error
        } catch {
            throw Self.storeError(what, error)
        }
    }

    static func storeError(_ what: String, _ error: any Error) -> TallyError {
        TallyError(.storeUnavailable, "could not \(what): \(error)",
                   remedy: "Check that the vendor's state directory is writable and has free space; restore ledger.sqlite from a backup if it is corrupt.")
    }
}
