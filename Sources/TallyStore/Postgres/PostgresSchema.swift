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
        (3, "deciders' lock and state in one statement", [
            // A batch's first statement in its transaction: the deciders' advisory lock (held until COMMIT), then
            // the database's clock (or the caller's day, when not negative) and what the decisions read. The
            // function is VOLATILE, so its query takes its snapshot after the lock is held: it sees every batch
            // decided before this one. Rows: kind 0 the day and the clock, 1 machines per class and day of the
            // window, 2 the last day of each asked CMID per class, 3 today's new machines of each asked block.
            """
            CREATE FUNCTION tally_lock_and_read(lock_key bigint, caller_day bigint, window_days bigint, asked_cmids text[], asked_blocks text[])
            RETURNS TABLE (r_kind integer, r_name text, r_other text, r_number bigint, r_flag bigint, r_clock double precision)
            LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                clock double precision;
                today bigint;
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_key);
                clock := extract(epoch from clock_timestamp());
                today := CASE WHEN caller_day >= 0 THEN caller_day ELSE floor(clock / 86400)::bigint END;
                RETURN QUERY
                    SELECT 0, ''::text, ''::text, today, 0::bigint, clock
                    UNION ALL
                    SELECT 1, m.class, ''::text, m.day::bigint, m.machines::bigint, 0::float8 FROM machine_days m
                        WHERE m.day BETWEEN today - window_days + 1 AND today AND m.machines != 0
                    UNION ALL
                    SELECT 2, c.cmid, c.class, MAX(c.last_day)::bigint, 0::bigint, 0::float8 FROM clients c
                        WHERE c.cmid = ANY(asked_cmids) GROUP BY c.cmid, c.class
                    UNION ALL
                    SELECT 3, n.block, ''::text, n.machines::bigint, CASE WHEN n.refused THEN 1 ELSE 0 END::bigint, 0::float8 FROM new_machines n
                        WHERE n.day = today AND n.block = ANY(asked_blocks);
            END
            $$
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
