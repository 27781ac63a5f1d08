import Foundation
import Logging
import PostgresNIO
import TallyCore

/// The shared store's tables, as numbered migrations recorded in `tally_schema`. They are applied under a
/// session advisory lock, so two hosts starting at once apply each migration once; a store whose newest
/// migration is one this binary does not know is refused (0xC0A70010), never read.
///
/// Times are seconds since 1970 (`double precision`), days are days since 1970 (UTC), as in the SQLite store.
enum PostgresSchema {
    /// Advisory lock keys (one namespace, `'Tally'` in ASCII, then the purpose).
    enum LockKey {
        static let migrations: Int64 = 0x5461_6C6C_7901
        /// Held by the transaction that decides a batch: decisions of every host are taken one batch at a time.
        static let deciders: Int64 = 0x5461_6C6C_7902
        /// Clone detection, retention and reporting run on one host at a time.
        static let maintenance: Int64 = 0x5461_6C6C_7903
    }

    static let migrations: [(version: Int, name: String, sql: [String])] = [
        (1, "tables", [
            """
            CREATE TABLE site (id integer PRIMARY KEY CHECK (id = 1), hkh text NOT NULL, thresholds text NOT NULL, created double precision NOT NULL)
            """,
            """
            CREATE TABLE hosts (host_id text PRIMARY KEY, address text NOT NULL, started double precision NOT NULL, last_answer double precision)
            """,
            """
            CREATE TABLE clients (
                cmid text NOT NULL, sku text NOT NULL, class text NOT NULL, fingerprint text NOT NULL, machine text NOT NULL,
                first_seen double precision NOT NULL, last_seen double precision NOT NULL, last_day integer NOT NULL,
                last_result bigint NOT NULL, requests bigint NOT NULL, ticket_expires double precision, license_status text NOT NULL,
                PRIMARY KEY (cmid, sku))
            """,
            "CREATE INDEX clients_by_cmid_class ON clients (cmid, class, last_day)",
            "CREATE INDEX clients_by_last_seen ON clients (last_seen DESC, cmid)",
            "CREATE TABLE sightings (day integer NOT NULL, sku text NOT NULL, cmid text NOT NULL, class text NOT NULL, PRIMARY KEY (day, sku, cmid))",
            """
            CREATE TABLE fingerprints (cmid text NOT NULL, fingerprint text NOT NULL, machine text NOT NULL, last_day integer NOT NULL,
                PRIMARY KEY (cmid, fingerprint))
            """,
            "CREATE TABLE machine_days (class text NOT NULL, day integer NOT NULL, machines integer NOT NULL, PRIMARY KEY (class, day))",
            "CREATE TABLE request_totals (result bigint PRIMARY KEY, requests bigint NOT NULL)",
            """
            CREATE TABLE new_machines (day integer NOT NULL, block text NOT NULL, machines integer NOT NULL, refused boolean NOT NULL DEFAULT false,
                PRIMARY KEY (day, block))
            """,
            """
            CREATE TABLE events (seq bigserial PRIMARY KEY, event_id integer NOT NULL, time double precision NOT NULL, result bigint,
                fields text NOT NULL, host_id text)
            """,
            "CREATE INDEX events_by_time ON events (time)",
            "CREATE INDEX events_other_than_requests ON events (event_id, seq) WHERE event_id != 12290",
            "CREATE TABLE clone_reports (cmid text NOT NULL, fingerprint text NOT NULL, day integer NOT NULL, PRIMARY KEY (cmid, fingerprint))",
            "CREATE TABLE clone_report_days (cmid text PRIMARY KEY, day integer NOT NULL)",
        ]),
        (2, "site report chain", [
            // The site's name at the vendor: its report chain is one for every host of the store.
            "ALTER TABLE site ADD COLUMN site_id text NOT NULL DEFAULT gen_random_uuid()::text",
            """
            CREATE TABLE usage_reports (seq integer PRIMARY KEY, hash text NOT NULL, period_to text NOT NULL, report text NOT NULL,
                host_id text NOT NULL, made double precision NOT NULL, receipt text)
            """,
        ]),
    ]

    static var latest: Int { migrations.map(\.version).max() ?? 0 }

    /// Applies what is missing, under the migrations lock; returns the schema version.
    static func migrate(_ session: PostgresConnection, logger: Logger) async throws -> Int {
        try await session.query("SELECT pg_advisory_lock(\(LockKey.migrations))", logger: logger)
        do {
            try await session.query("CREATE TABLE IF NOT EXISTS tally_schema (version integer PRIMARY KEY, name text NOT NULL, applied double precision NOT NULL)",
                                    logger: logger)
            let applied = try await version(session, logger: logger)
            guard applied <= latest else {
                throw TallyError(.storeSchemaNewer, "the PostgreSQL store's schema is version \(applied), newer than this Tally knows (\(latest))",
                                 remedy: "Run the version of Tally the other hosts of the site run; this host changes nothing in the store.")
            }
            for migration in migrations where migration.version > applied {
                try await session.query("BEGIN", logger: logger)
                do {
                    for statement in migration.sql { try await session.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await session.query("INSERT INTO tally_schema (version, name, applied) VALUES (\(migration.version), \(migration.name), extract(epoch from now()))",
                                            logger: logger)
                    try await session.query("COMMIT", logger: logger)
                } catch {
                    _ = try? await session.query("ROLLBACK", logger: logger)
                    throw error
                }
                logger.notice("store schema migrated", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
            try await session.query("SELECT pg_advisory_unlock(\(LockKey.migrations))", logger: logger)
            return max(applied, latest)
        } catch {
            _ = try? await session.query("SELECT pg_advisory_unlock(\(LockKey.migrations))", logger: logger)
            throw error
        }
    }

    /// The newest migration applied (0 for an empty database).
    static func version(_ session: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await session.query("SELECT COALESCE(MAX(version), 0)::integer FROM tally_schema", logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }
}
