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
        /// Held by the transaction that brings the tables derived from the event log up to date (one host at a time).
        static let deriving: Int64 = 0x5461_6C6C_7904
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
        (4, "a batch decided and written in one statement", [
            // The whole of a batch in one statement, so that no round trip to a host lies inside the deciders' lock:
            // the lock (held until the statement's transaction commits), the clock, the decisions of
            // ActivationPolicy.decide in request order (the same table; the contract tests hold both stores to
            // it), and every write. Arguments: the clock (the caller's time when not negative, else the database's),
            // the host, the certificate's expiry (NULL: no valid certificate), the ticket's validity, the clock skew
            // tolerance, the new-machine budget (0: none); per request its CMID, SKU, class ('' when the
            // certificate does not cover the SKU), threshold, client time, address block, fingerprint, machine,
            // reported licence state and its 12290 event's fields without the two counts (a JSON object without
            // its closing brace); `codes` are the result codes success, C004F038, C004F041, C004F042, C004F06C and
            // C0A7000E, the licence state of a granted client, and the window's days. Rows: position 0 the clock;
            // 1… each request's code, count and event sequence number; −1 a CMID with several fingerprints.
            // Its statements are planned once per session (a generic plan; planning the write for each batch took
            // longer than running it), and never as a scan of a whole table: every table is read by its keys, so a
            // plan made while a table was small stays right once it is large. tally_lock_and_read stays: a host of
            // schema 3 still running beside this one decides under the same lock on the same tables.
            """
            CREATE FUNCTION tally_decide_batch(lock_key bigint, caller_time double precision, host text,
                certificate_expires double precision, ticket_validity double precision, skew_tolerance double precision, budget bigint,
                cmids text[], skus text[], classes text[], required bigint[], client_times double precision[], blocks text[],
                prints text[], machine_names text[], license_statuses text[], field_texts text[],
                codes bigint[], licensed text, window_days bigint)
            RETURNS TABLE (r_position integer, r_code bigint, r_current bigint, r_seq bigint, r_text text, r_clock double precision)
            LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
            DECLARE
                clock double precision;
                today bigint;
                n integer := coalesce(array_length(cmids, 1), 0);
                i integer; j integer; k integer; b integer;
                cls text; previous bigint; refuse boolean; res bigint; cnt bigint; ticket double precision;
                out_codes bigint[] := array_fill(0::bigint, ARRAY[n]); out_current bigint[] := array_fill(0::bigint, ARRAY[n]);
                out_min bigint[] := array_fill(0::bigint, ARRAY[n]); out_counted boolean[] := array_fill(false, ARRAY[n]);
                out_tickets double precision[] := array_fill(NULL::float8, ARRAY[n]); out_statuses text[] := array_fill(NULL::text, ARRAY[n]);
                class_names text[]; class_counts bigint[];
                last_cmids text[]; last_classes text[]; last_days bigint[];
                block_names text[]; block_before bigint[]; block_added bigint[]; block_refused_before boolean[]; block_refused boolean[];
                report_positions integer[] := '{}'; report_blocks integer[] := '{}';
                d_classes text[] := '{}'; d_days bigint[] := '{}'; d_changes bigint[] := '{}';
            BEGIN
                PERFORM pg_advisory_xact_lock(lock_key);
                clock := CASE WHEN caller_time >= 0 THEN caller_time ELSE extract(epoch from clock_timestamp()) END;
                today := floor(clock / 86400)::bigint;
                -- What the decisions read, in three statements whatever the batch's size: the machines of the window
                -- per class, the last day of each asked CMID per class, and today's new machines of each asked block.
                SELECT coalesce(array_agg(w.class), '{}'), coalesce(array_agg(w.machines), '{}') INTO class_names, class_counts
                    FROM (SELECT m.class, sum(m.machines)::bigint AS machines FROM machine_days m
                          WHERE m.class = ANY(classes) AND m.day BETWEEN today - window_days + 1 AND today GROUP BY m.class) AS w;
                SELECT coalesce(array_agg(l.cmid), '{}'), coalesce(array_agg(l.class), '{}'), coalesce(array_agg(l.last_day), '{}')
                    INTO last_cmids, last_classes, last_days
                    FROM (SELECT c.cmid, c.class, max(c.last_day)::bigint AS last_day FROM clients c WHERE c.cmid = ANY(cmids) GROUP BY c.cmid, c.class) AS l;
                SELECT coalesce(array_agg(nm.block), '{}'), coalesce(array_agg(nm.machines::bigint), '{}'), coalesce(array_agg(nm.refused), '{}')
                    INTO block_names, block_before, block_refused_before
                    FROM new_machines nm WHERE nm.day = today AND nm.block = ANY(blocks);
                block_added := array_fill(0::bigint, ARRAY[coalesce(array_length(block_names, 1), 0)]);
                block_refused := array_fill(false, ARRAY[coalesce(array_length(block_names, 1), 0)]);
                \(decisionLoop)

                -- Every write in one statement (its data-modifying CTEs share one snapshot and none reads another's
                -- rows; the batch's requests are unnested once, for all of them), whose rows are the function's: the clock, each request's code, count and event number in
                -- request order, and the CMIDs with several fingerprints (the table's and the batch's).
                RETURN QUERY
                    WITH requests AS MATERIALIZED (
                        SELECT * FROM unnest(cmids, skus, classes, prints, machine_names, out_codes, out_current, out_min, field_texts,
                                             out_tickets, out_statuses, out_counted)
                            WITH ORDINALITY AS t(c, s, k2, f, m, r, cur, mc, ft, x, l, counted, p)),
                    inserted_events AS (
                        INSERT INTO events (event_id, time, result, fields, host_id)
                        SELECT 12290, clock, r, ft || ',"currentCount":"' || cur || '","minCount":"' || mc || '"}', host
                        FROM requests ORDER BY p
                        RETURNING seq),
                    inserted_reports AS (
                        INSERT INTO events (event_id, time, result, fields, host_id)
                        SELECT 12306, clock, codes[6], json_build_object('address', block_names[rb], 'admitted', (block_before[rb] + block_added[rb])::text,
                            'budget', budget::text, 'day', today::text, 'cmid', cmids[rp])::text, host
                        FROM unnest(report_positions, report_blocks) WITH ORDINALITY AS t(rp, rb, p) ORDER BY p
                        RETURNING 1),
                    written_clients AS (
                        INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests,
                                             ticket_expires, license_status)
                        SELECT c, s, k2, f, m, clock, clock, today, r, q, x, l FROM (
                            SELECT DISTINCT ON (c, s) c, s, k2, f, m, r, count(*) OVER w AS q, max(x) OVER w AS x, l
                            FROM requests WHERE counted
                            WINDOW w AS (PARTITION BY c, s)
                            ORDER BY c, s, p DESC) AS latest
                        ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint, machine = excluded.machine,
                            last_seen = excluded.last_seen, last_day = GREATEST(clients.last_day, excluded.last_day), last_result = excluded.last_result,
                            requests = clients.requests + excluded.requests, ticket_expires = COALESCE(excluded.ticket_expires, clients.ticket_expires),
                            license_status = excluded.license_status
                        RETURNING 1),
                    written_sightings AS (
                        INSERT INTO sightings (day, sku, cmid, class)
                        SELECT today, s, c, k2 FROM requests WHERE counted
                        ON CONFLICT DO NOTHING
                        RETURNING 1),
                    written_fingerprints AS (
                        INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                        SELECT DISTINCT ON (c, f) c, f, m, today FROM requests WHERE counted ORDER BY c, f, p DESC
                        ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine,
                            last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                        RETURNING cmid, fingerprint),
                    written_days AS (
                        INSERT INTO machine_days (class, day, machines)
                        SELECT k2, d, sum(m) FROM unnest(d_classes, d_days, d_changes) AS t(k2, d, m) GROUP BY k2, d HAVING sum(m) != 0
                        ON CONFLICT (class, day) DO UPDATE SET machines = machine_days.machines + excluded.machines
                        RETURNING 1),
                    written_ledger AS (
                        INSERT INTO new_machines (day, block, machines, refused)
                        SELECT today, nb, na, nr FROM unnest(block_names, block_added, block_refused) AS t(nb, na, nr) WHERE na > 0 OR nr
                        ON CONFLICT (day, block) DO UPDATE SET machines = new_machines.machines + excluded.machines,
                            refused = new_machines.refused OR excluded.refused
                        RETURNING 1),
                    written_totals AS (
                        INSERT INTO request_totals (result, requests)
                        SELECT r, count(*) FROM requests GROUP BY r
                        ON CONFLICT (result) DO UPDATE SET requests = request_totals.requests + excluded.requests
                        RETURNING 1),
                    written_host AS (
                        UPDATE hosts SET last_answer = clock WHERE host_id = host RETURNING 1)
                    SELECT 0, 0::bigint, 0::bigint, 0::bigint, NULL::text, clock
                    UNION ALL
                    SELECT t.p::integer, t.r, t.cur, e.seq, NULL::text, clock
                        FROM requests AS t
                        JOIN (SELECT seq, row_number() OVER (ORDER BY seq) AS p FROM inserted_events) AS e ON e.p = t.p
                    UNION ALL
                    SELECT -1, 0::bigint, 0::bigint, 0::bigint, f.cmid, clock FROM (
                        SELECT fp.cmid, fp.fingerprint FROM fingerprints fp
                            WHERE fp.cmid = ANY(ARRAY(SELECT c FROM requests WHERE counted))
                        UNION SELECT wf.cmid, wf.fingerprint FROM written_fingerprints wf) AS f
                    GROUP BY f.cmid HAVING count(*) > 1;
                -- A machine moved to a later day can leave a day of its class with no machine.
                IF -1 = ANY(d_changes) THEN
                    DELETE FROM machine_days md WHERE md.machines = 0 AND md.class = ANY(d_classes);
                END IF;
            END
            $$
            """,
        ]),
        (5, "tables derived behind the event log", derivedBehindTheLog),
        (6, "a batch decided and committed in one round trip", decideAndCommit),
        (7, "the deciders' lock released before the flush", flushAfterTheLock),
        (8, "the procedure's statement planned once per session", planTheCallOnce),
        (9, "each machine looked up once, only what changed written", decideOnce),
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
