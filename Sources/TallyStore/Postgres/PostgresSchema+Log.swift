/// Schema version 5: a batch writes the event log and the little the next decisions read; the client inventory is
/// derived from the log behind it.
///
/// Version 4 wrote eight tables and twelve indexes per batch in the deciders' lock (clients with three indexes,
/// sightings, fingerprints, request totals, the host's last answer), and a third of its time went to starting
/// the executor for those writes. Now a batch writes its 12290 events (which carry what the derived tables need:
/// SKU, CMID, class, fingerprint, machine, whether it counted, the ticket's expiry and licence state),
/// `machine_last` (the last day of each CMID per class, all a decision reads of a machine), `machine_days` and
/// `new_machines`. `tally_derive` applies the log's new 12290 events to `clients`, `sightings`, `fingerprints`,
/// `request_totals` and the hosts' last answers, thousands at a time, under a lock of its own (one host at a
/// time, never the deciders'), and moves `derived.seq` in the same transaction: a crash leaves the tables and
/// the mark together. Readers of those tables derive first (``PostgresHostStore/catchUp()``).
///
/// Why a mark is enough: every 12290 event is inserted under the deciders' lock, which a transaction releases only
/// after its commit is visible, so 12290 events become visible in the order of their sequence numbers; a snapshot
/// that sees one sees every 12290 event before it. Events imported by `tally host store migrate` carry no SKU and
/// are skipped (their clients are imported as they are).
///
/// Hosts of version 4 still running beside a version 5 one call the same `tally_decide_batch`, now this one, and
/// decide right; hosts of version 3 (`tally_lock_and_read`, which wrote clients themselves) are refused with an
/// error that says to upgrade them. The migration holds the deciders' lock, so no batch is decided while
/// `machine_last` is made from the clients.
extension PostgresSchema {
    static let derivedBehindTheLog: [String] = [
        "SELECT pg_advisory_xact_lock(\(LockKey.deciders))",
        """
        ALTER TABLE events ADD COLUMN sku text, ADD COLUMN cmid text, ADD COLUMN class text, ADD COLUMN fingerprint text,
            ADD COLUMN machine text, ADD COLUMN counted boolean, ADD COLUMN ticket_expires double precision, ADD COLUMN license_status text
        """,
        "CREATE TABLE machine_last (cmid text NOT NULL, class text NOT NULL, last_day integer NOT NULL, PRIMARY KEY (cmid, class))",
        // Only version 4's decisions read clients by CMID and class; every read left goes by the key or last_seen.
        "DROP INDEX clients_by_cmid_class",
        "INSERT INTO machine_last (cmid, class, last_day) SELECT cmid, class, MAX(last_day) FROM clients GROUP BY cmid, class",
        "CREATE TABLE derived (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL)",
        "INSERT INTO derived (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events",
        """
        CREATE OR REPLACE FUNCTION tally_lock_and_read(lock_key bigint, caller_day bigint, window_days bigint, asked_cmids text[], asked_blocks text[])
        RETURNS TABLE (r_kind integer, r_name text, r_other text, r_number bigint, r_flag bigint, r_clock double precision)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            RAISE EXCEPTION 'the store''s schema is version 5 or newer: upgrade this Tally host to the version the other hosts run';
        END
        $$
        """,
        """
        CREATE OR REPLACE FUNCTION tally_decide_batch(lock_key bigint, caller_time double precision, host text,
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
            last_cmids text[]; last_classes text[]; last_days bigint[]; known integer;
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
            SELECT coalesce(array_agg(ml.cmid), '{}'), coalesce(array_agg(ml.class), '{}'), coalesce(array_agg(ml.last_day::bigint), '{}')
                INTO last_cmids, last_classes, last_days
                FROM machine_last ml WHERE ml.cmid = ANY(cmids);
            known := coalesce(array_length(last_cmids, 1), 0);
            SELECT coalesce(array_agg(nm.block), '{}'), coalesce(array_agg(nm.machines::bigint), '{}'), coalesce(array_agg(nm.refused), '{}')
                INTO block_names, block_before, block_refused_before
                FROM new_machines nm WHERE nm.day = today AND nm.block = ANY(blocks);
            block_added := array_fill(0::bigint, ARRAY[coalesce(array_length(block_names, 1), 0)]);
            block_refused := array_fill(false, ARRAY[coalesce(array_length(block_names, 1), 0)]);
            \(decisionLoop)

            -- The writes in one statement: the 12290 events (the log the other tables are derived from), the
            -- 12306 budget events, and what the next decisions read. The loop appended each machine whose last day
            -- moved to today to last_cmids/last_classes after the `known` rows read from machine_last.
            RETURN QUERY
                WITH requests AS MATERIALIZED (
                    SELECT * FROM unnest(cmids, skus, classes, prints, machine_names, out_codes, out_current, out_min, field_texts,
                                         out_tickets, out_statuses, out_counted)
                        WITH ORDINALITY AS t(c, s, k2, f, m, r, cur, mc, ft, x, l, counted, p)),
                inserted_events AS (
                    INSERT INTO events (event_id, time, result, fields, host_id, sku, cmid, class, fingerprint, machine, counted, ticket_expires, license_status)
                    SELECT 12290, clock, r, ft || ',"currentCount":"' || cur || '","minCount":"' || mc || '"}', host, s, c, k2, f, m, counted, x, l
                    FROM requests ORDER BY p
                    RETURNING seq),
                inserted_reports AS (
                    INSERT INTO events (event_id, time, result, fields, host_id)
                    SELECT 12306, clock, codes[6], json_build_object('address', block_names[rb], 'admitted', (block_before[rb] + block_added[rb])::text,
                        'budget', budget::text, 'day', today::text, 'cmid', cmids[rp])::text, host
                    FROM unnest(report_positions, report_blocks) WITH ORDINALITY AS t(rp, rb, p) ORDER BY p
                    RETURNING 1),
                written_last AS (
                    INSERT INTO machine_last (cmid, class, last_day)
                    SELECT lc, lk, today FROM unnest(last_cmids[known + 1:], last_classes[known + 1:]) AS t(lc, lk)
                    ON CONFLICT (cmid, class) DO UPDATE SET last_day = GREATEST(machine_last.last_day, excluded.last_day)
                    RETURNING 1),
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
                    RETURNING 1)
                SELECT 0, 0::bigint, 0::bigint, 0::bigint, NULL::text, clock
                UNION ALL
                SELECT t.p::integer, t.r, t.cur, e.seq, NULL::text, clock
                    FROM requests AS t
                    JOIN (SELECT seq, row_number() OVER (ORDER BY seq) AS p FROM inserted_events) AS e ON e.p = t.p;
            -- A machine moved to a later day can leave a day of its class with no machine.
            IF -1 = ANY(d_changes) THEN
                DELETE FROM machine_days md WHERE md.machines = 0 AND md.class = ANY(d_classes);
            END IF;
        END
        $$
        """,
        // The derived tables brought up to date with the log's next 12290 events (at most `max_rows`), under the
        // deriving lock: waited for when `wait`, else a round another host is running is left to it (one row,
        // r_applied −1). Rows: one with r_applied the events read (r_cmid NULL), then each CMID of those events
        // that now has several fingerprints (a clone candidate), with its fingerprints and its last time. Planned
        // once per session, like tally_decide_batch, and without hash aggregates: a generic plan sizes a hash
        // table for the rows it guesses (a large share of the log), and building it took 6 ms of every round.
        """
        CREATE FUNCTION tally_derive(lock_key bigint, wait boolean, max_rows integer)
        RETURNS TABLE (r_cmid text, r_prints text[], r_time double precision, r_applied bigint)
        LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashagg = off AS $$
        DECLARE
            mark bigint; upto bigint; applied bigint;
        BEGIN
            IF wait THEN
                PERFORM pg_advisory_xact_lock(lock_key);
            ELSIF NOT pg_try_advisory_xact_lock(lock_key) THEN
                RETURN QUERY SELECT NULL::text, NULL::text[], 0::float8, (-1)::bigint;
                RETURN;
            END IF;
            SELECT d.seq INTO mark FROM derived d WHERE d.id = 1;
            SELECT max(w.seq), count(*) INTO upto, applied
                FROM (SELECT e.seq FROM events e WHERE e.seq > mark AND e.event_id = 12290 ORDER BY e.seq LIMIT max_rows) AS w;
            IF upto IS NULL THEN
                RETURN QUERY SELECT NULL::text, NULL::text[], 0::float8, 0::bigint;
                RETURN;
            END IF;
            -- A round's commit is not waited for: a round lost in a crash is lost with its mark and applied again
            -- from the log, and a later commit (any decision's) makes it durable with everything before it.
            PERFORM set_config('synchronous_commit', 'off', true);
            -- Every 12290 event up to `upto` is visible now (see above), so the statements below read one set.
            WITH chunk AS MATERIALIZED (
                SELECT e.seq, e.time, e.result, e.host_id, e.sku, e.cmid, e.class, e.fingerprint, e.machine, e.counted, e.ticket_expires,
                       e.license_status, floor(e.time / 86400)::integer AS day
                FROM events e WHERE e.seq > mark AND e.seq <= upto AND e.event_id = 12290 AND e.sku IS NOT NULL),
            written_clients AS (
                INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests,
                                     ticket_expires, license_status)
                SELECT c, s, k, f, m, fs, ls, d, r, q, x, l FROM (
                    SELECT DISTINCT ON (cmid, sku) cmid AS c, sku AS s, class AS k, fingerprint AS f, machine AS m, min(time) OVER w AS fs,
                           time AS ls, max(day) OVER w AS d, result AS r, count(*) OVER w AS q, max(ticket_expires) OVER w AS x, license_status AS l
                    FROM chunk WHERE counted
                    WINDOW w AS (PARTITION BY cmid, sku)
                    ORDER BY cmid, sku, seq DESC) AS latest
                ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint, machine = excluded.machine,
                    last_seen = excluded.last_seen, last_day = GREATEST(clients.last_day, excluded.last_day), last_result = excluded.last_result,
                    requests = clients.requests + excluded.requests, ticket_expires = COALESCE(excluded.ticket_expires, clients.ticket_expires),
                    license_status = excluded.license_status
                RETURNING 1),
            written_sightings AS (
                INSERT INTO sightings (day, sku, cmid, class)
                SELECT DISTINCT ON (day, sku, cmid) day, sku, cmid, class FROM chunk WHERE counted ORDER BY day, sku, cmid, seq DESC
                ON CONFLICT DO NOTHING
                RETURNING 1),
            written_fingerprints AS (
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                SELECT DISTINCT ON (cmid, fingerprint) cmid, fingerprint, machine, max(day) OVER (PARTITION BY cmid, fingerprint)
                FROM chunk WHERE counted ORDER BY cmid, fingerprint, seq DESC
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine,
                    last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                RETURNING 1),
            written_totals AS (
                INSERT INTO request_totals (result, requests)
                SELECT result, count(*) FROM chunk GROUP BY result
                ON CONFLICT (result) DO UPDATE SET requests = request_totals.requests + excluded.requests
                RETURNING 1),
            written_hosts AS (
                UPDATE hosts h SET last_answer = GREATEST(coalesce(h.last_answer, 0), a.t)
                FROM (SELECT host_id, max(time) AS t FROM chunk GROUP BY host_id) AS a WHERE h.host_id = a.host_id
                RETURNING 1)
            UPDATE derived SET seq = upto WHERE id = 1;
            RETURN QUERY
                SELECT NULL::text, NULL::text[], 0::float8, applied
                UNION ALL
                -- Each CMID's fingerprints looked up by its key (a join planned for unknown ranges read the whole
                -- table's index).
                SELECT a.cmid, p.prints, a.t, 0::bigint
                FROM (SELECT e.cmid, max(e.time) AS t FROM events e
                      WHERE e.seq > mark AND e.seq <= upto AND e.event_id = 12290 AND e.counted GROUP BY e.cmid) AS a
                CROSS JOIN LATERAL (SELECT array_agg(f.fingerprint ORDER BY f.fingerprint) AS prints, count(*) AS n
                                    FROM fingerprints f WHERE f.cmid = a.cmid) AS p
                WHERE p.n > 1;
        END
        $$
        """,
    ]
}
