/// Schema version 9: a batch decided with each machine looked up once, and written with only what it changed.
///
/// Version 8's `tally_decide_batch` cost about 0.5 ms of PostgreSQL's CPU per batch whatever its size (measured with
/// the procedure called in a loop in one session, tables emptied first, 8 and 16 new machines a batch):
/// - its one write statement started five data-modifying CTEs every batch, though most batches change only the
///   log and the machines' last days (the 12306 reports, the day's new machines and the machines per day are
///   written only when they change);
/// - every request looked for its machine in an array that grew with the batch (the store's rows and the batch's
///   own moves), one element at a time;
/// - its rows went through a table, then back into the procedure's arrays, each sorted on the way.
///
/// `tally_decide` decides as version 5 did (the same table; the contract tests hold both stores to it), but:
/// - a machine's last day is found by one key (CMID, unit separator, class: a CMID is a UUID, so the separator
///   cannot occur in it) in two arrays, the store's rows of the batch's CMIDs and the machines the batch has moved
///   to today so far, each searched by `array_position` in C rather than element by element in PL/pgSQL;
/// - each write is its own statement, run only when it has rows. A machine new to its class is a plain insert: it
///   was not in `machine_last` when read, and every insert there is made under the deciders' lock, held here. A
///   machine that moved to today is an upsert, because retention may have deleted its row since;
/// - it returns the codes, counts and event numbers as arrays, which the procedure returns as they are.
/// It carries no `SET` clause (a function with one saves and restores the settings on every call): the procedure
/// sets `plan_cache_mode` and `enable_seqscan` for the batch's transaction, so its statements are planned once per
/// session and read every table by its keys, as before.
///
/// `tally_decide_commit` keeps its arguments, so hosts of versions 6 to 8 beside one of version 9 call this one;
/// `tally_decide_batch` stays as it was for hosts of version 5, which decide under the same lock on the same tables.
extension PostgresSchema {
    static let decideOnce: [String] = [
        """
        CREATE FUNCTION tally_decide(lock_key bigint, caller_time double precision, host text,
            certificate_expires double precision, ticket_validity double precision, skew_tolerance double precision, budget bigint,
            cmids text[], skus text[], classes text[], required bigint[], client_times double precision[], blocks text[],
            prints text[], machine_names text[], license_statuses text[], field_texts text[],
            codes bigint[], licensed text, window_days bigint,
            OUT o_codes bigint[], OUT o_current bigint[], OUT o_seqs bigint[], OUT o_clock double precision)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            clock double precision;
            today bigint;
            n integer := coalesce(array_length(cmids, 1), 0);
            i integer; k integer; b integer;
            cls text; previous bigint; refuse boolean; res bigint; cnt bigint; ticket double precision;
            out_codes bigint[] := array_fill(0::bigint, ARRAY[n]); out_current bigint[] := array_fill(0::bigint, ARRAY[n]);
            out_min bigint[] := array_fill(0::bigint, ARRAY[n]); out_counted boolean[] := array_fill(false, ARRAY[n]);
            out_tickets double precision[] := array_fill(NULL::float8, ARRAY[n]); out_statuses text[] := array_fill(NULL::text, ARRAY[n]);
            class_names text[]; class_counts bigint[];
            stored_keys text[]; stored_days bigint[]; moved_keys text[] := '{}'; key text;
            moved_cmids text[] := '{}'; moved_classes text[] := '{}'; new_cmids text[] := '{}'; new_classes text[] := '{}';
            block_names text[]; block_before bigint[]; block_added bigint[]; block_refused_before boolean[]; block_refused boolean[];
            report_positions integer[] := '{}'; report_blocks integer[] := '{}';
            d_classes text[] := '{}'; d_days bigint[] := '{}'; d_changes bigint[] := '{}';
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            clock := CASE WHEN caller_time >= 0 THEN caller_time ELSE extract(epoch from clock_timestamp()) END;
            today := floor(clock / 86400)::bigint;
            -- What the decisions read, in three statements whatever the batch's size: the machines of the window
            -- per class, the last day of each asked CMID per class (its key: CMID, unit separator, class), and
            -- today's new machines of each asked block.
            SELECT coalesce(array_agg(w.class), '{}'), coalesce(array_agg(w.machines), '{}') INTO class_names, class_counts
                FROM (SELECT m.class, sum(m.machines)::bigint AS machines FROM machine_days m
                      WHERE m.class = ANY(classes) AND m.day BETWEEN today - window_days + 1 AND today GROUP BY m.class) AS w;
            SELECT coalesce(array_agg(ml.cmid || E'\\x1f' || ml.class), '{}'), coalesce(array_agg(ml.last_day::bigint), '{}')
                INTO stored_keys, stored_days
                FROM machine_last ml WHERE ml.cmid = ANY(cmids);
            SELECT coalesce(array_agg(nm.block), '{}'), coalesce(array_agg(nm.machines::bigint), '{}'), coalesce(array_agg(nm.refused), '{}')
                INTO block_names, block_before, block_refused_before
                FROM new_machines nm WHERE nm.day = today AND nm.block = ANY(blocks);
            block_added := array_fill(0::bigint, ARRAY[coalesce(array_length(block_names, 1), 0)]);
            block_refused := array_fill(false, ARRAY[coalesce(array_length(block_names, 1), 0)]);
            \(decisionByPosition)
            -- The writes, each only when it has rows: the 12290 events (the log the client inventory is derived
            -- from) and their numbers in request order, the 12306 budget events, and what the next decisions read.
            WITH inserted AS (
                INSERT INTO events (event_id, time, result, fields, host_id, sku, cmid, class, fingerprint, machine, counted, ticket_expires, license_status)
                SELECT 12290, clock, r, ft || ',"currentCount":"' || cur || '","minCount":"' || mc || '"}', host, s, c, k2, f, m, counted, x, l
                FROM unnest(cmids, skus, classes, prints, machine_names, out_codes, out_current, out_min, field_texts, out_tickets, out_statuses, out_counted)
                    WITH ORDINALITY AS t(c, s, k2, f, m, r, cur, mc, ft, x, l, counted, p)
                ORDER BY p
                RETURNING seq)
            SELECT array_agg(seq ORDER BY seq) INTO o_seqs FROM inserted;
            IF array_length(report_positions, 1) > 0 THEN
                INSERT INTO events (event_id, time, result, fields, host_id)
                SELECT 12306, clock, codes[6], json_build_object('address', block_names[rb], 'admitted', (block_before[rb] + block_added[rb])::text,
                    'budget', budget::text, 'day', today::text, 'cmid', cmids[rp])::text, host
                FROM unnest(report_positions, report_blocks) WITH ORDINALITY AS t(rp, rb, p) ORDER BY p;
            END IF;
            IF array_length(new_cmids, 1) > 0 THEN
                INSERT INTO machine_last (cmid, class, last_day) SELECT lc, lk, today FROM unnest(new_cmids, new_classes) AS t(lc, lk);
            END IF;
            IF array_length(moved_cmids, 1) > 0 THEN
                INSERT INTO machine_last (cmid, class, last_day)
                SELECT lc, lk, today FROM unnest(moved_cmids, moved_classes) AS t(lc, lk)
                ON CONFLICT (cmid, class) DO UPDATE SET last_day = GREATEST(machine_last.last_day, excluded.last_day);
            END IF;
            IF array_length(d_classes, 1) > 0 THEN
                INSERT INTO machine_days (class, day, machines)
                SELECT k2, d, sum(m) FROM unnest(d_classes, d_days, d_changes) AS t(k2, d, m) GROUP BY k2, d HAVING sum(m) != 0
                ON CONFLICT (class, day) DO UPDATE SET machines = machine_days.machines + excluded.machines;
                IF -1 = ANY(d_changes) THEN
                    DELETE FROM machine_days md WHERE md.machines = 0 AND md.class = ANY(d_classes);
                END IF;
            END IF;
            IF true = ANY(block_refused) OR 0 < ANY(block_added) THEN
                INSERT INTO new_machines (day, block, machines, refused)
                SELECT today, nb, na, nr FROM unnest(block_names, block_added, block_refused) AS t(nb, na, nr) WHERE na > 0 OR nr
                ON CONFLICT (day, block) DO UPDATE SET machines = new_machines.machines + excluded.machines,
                    refused = new_machines.refused OR excluded.refused;
            END IF;
            o_codes := out_codes;
            o_current := out_current;
            o_clock := clock;
        END
        $$
        """,
        decideCommitProcedure([
            "-- This transaction only: its commit neither waits for the flush nor holds the lock through it, and its",
            "-- statements (tally_decide's among them) are planned once per session, never as a scan of a table.",
            "PERFORM set_config('synchronous_commit', 'off', true), set_config('plan_cache_mode', 'force_generic_plan', true),\n"
                + "        set_config('enable_seqscan', 'off', true);",
            decideCall,
        ]),
    ]

    /// The procedure's call of `tally_decide`, its arrays kept as they are.
    static let decideCall = """
        SELECT d.o_codes, d.o_current, d.o_seqs, d.o_clock INTO o_codes, o_current, o_seqs, o_clock
                FROM tally_decide(lock_key, caller_time, host, certificate_expires, ticket_validity, skew_tolerance, budget,
                    cmids, skus, classes, required, client_times, blocks, prints, machine_names, license_statuses, field_texts,
                    codes, licensed, window_days) AS d;
        """

    /// `tally_decide`'s decisions: version 5's (``decisionLoop``), with the machine's last day found by its key in
    /// `stored_keys` and `moved_keys` instead of a search, and the machines to write split into new and moved ones.
    static let decisionByPosition = """
    FOR i IN 1..n LOOP
        cls := NULLIF(classes[i], '');
        cnt := 0;
        ticket := NULL;
        IF certificate_expires IS NULL OR NOT clock < certificate_expires THEN
            res := codes[3];
        ELSIF cls IS NULL THEN
            res := codes[4];
        ELSE
            k := array_position(class_names, cls);
            IF k IS NULL THEN
                class_names := class_names || cls;
                class_counts := class_counts || 0::bigint;
                k := array_length(class_names, 1);
            END IF;
            IF abs(client_times[i] - clock) > skew_tolerance THEN
                res := codes[5];
                cnt := class_counts[k];
            ELSE
                -- The machine's last day: today once the batch moved it there, else the store's.
                key := cmids[i] || E'\\x1f' || cls;
                previous := stored_days[array_position(stored_keys, key)];
                IF array_position(moved_keys, key) IS NOT NULL THEN previous := today; END IF;
                refuse := false;
                IF previous IS NULL THEN
                    b := array_position(block_names, blocks[i]);
                    IF b IS NULL THEN
                        block_names := block_names || blocks[i];
                        block_before := block_before || 0::bigint;
                        block_added := block_added || 0::bigint;
                        block_refused_before := block_refused_before || false;
                        block_refused := block_refused || false;
                        b := array_length(block_names, 1);
                    END IF;
                    IF budget > 0 AND block_before[b] + block_added[b] >= budget THEN
                        refuse := true;
                        IF NOT (block_refused_before[b] OR block_refused[b]) THEN
                            report_positions := report_positions || i;
                            report_blocks := report_blocks || b;
                        END IF;
                        block_refused[b] := true;
                    ELSE
                        block_added[b] := block_added[b] + 1;
                    END IF;
                END IF;
                IF refuse THEN
                    res := codes[6];
                    cnt := class_counts[k];
                ELSE
                    -- An older sighting than the one kept changes nothing (the clock was set back). A machine whose
                    -- last day moves to today was not moved by the batch before, so `previous` is the store's: no
                    -- row is a plain insert, a row an upsert (retention may have deleted it since).
                    IF previous IS NULL OR today > previous THEN
                        moved_keys := moved_keys || key;
                        IF previous IS NULL THEN
                            new_cmids := new_cmids || cmids[i];
                            new_classes := new_classes || cls;
                        ELSE
                            moved_cmids := moved_cmids || cmids[i];
                            moved_classes := moved_classes || cls;
                        END IF;
                        IF previous IS NOT NULL THEN
                            d_classes := d_classes || cls; d_days := d_days || previous; d_changes := d_changes || (-1)::bigint;
                        END IF;
                        d_classes := d_classes || cls; d_days := d_days || today; d_changes := d_changes || 1::bigint;
                        IF previous IS NULL OR previous < today - window_days + 1 THEN
                            class_counts[k] := class_counts[k] + 1;
                        END IF;
                    END IF;
                    cnt := class_counts[k] + CASE WHEN previous > today THEN 1 ELSE 0 END;
                    IF cnt >= required[i] THEN
                        res := codes[1];
                        ticket := least(clock + ticket_validity, certificate_expires);
                    ELSE
                        res := codes[2];
                    END IF;
                    out_counted[i] := true;
                    out_tickets[i] := ticket;
                    out_statuses[i] := CASE WHEN ticket IS NULL THEN license_statuses[i] ELSE licensed END;
                END IF;
            END IF;
        END IF;
        out_codes[i] := res;
        out_current[i] := cnt;
        IF cls IS NOT NULL AND res != codes[3] THEN out_min[i] := required[i]; END IF;
    END LOOP;
    """
}
