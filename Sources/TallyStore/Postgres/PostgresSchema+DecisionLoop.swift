/// The decisions of `tally_decide_batch` (schema versions 4 and 5 alike): ActivationPolicy.decide's table in
/// request order, the batch's own decisions included as it goes. It reads `class_names`/`class_counts` (machines
/// of the window per class), `last_cmids`/`last_classes`/`last_days` (the last day of each asked CMID per class)
/// and the block arrays, appends to them, and leaves each request's code, count, ticket and licence state in the
/// `out_` arrays and the changes to the machines per day in the `d_` arrays.
extension PostgresSchema {
    static let decisionLoop = """
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
                -- The machine's last day: the latest of the store's and this batch's.
                previous := NULL;
                FOR j IN REVERSE coalesce(array_length(last_cmids, 1), 0)..1 LOOP
                    IF last_cmids[j] = cmids[i] AND last_classes[j] = cls THEN
                        previous := last_days[j];
                        EXIT;
                    END IF;
                END LOOP;
                -- A machine new to its class, within its block's budget of the day (NewMachineLedger.decide).
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
                    -- An older sighting than the one kept changes nothing (the clock was set back).
                    IF previous IS NULL OR today > previous THEN
                        last_cmids := last_cmids || cmids[i];
                        last_classes := last_classes || cls;
                        last_days := last_days || today;
                        IF previous IS NOT NULL THEN
                            d_classes := d_classes || cls; d_days := d_days || previous; d_changes := d_changes || (-1)::bigint;
                        END IF;
                        d_classes := d_classes || cls; d_days := d_days || today; d_changes := d_changes || 1::bigint;
                        IF previous IS NULL OR previous < today - window_days + 1 THEN
                            class_counts[k] := class_counts[k] + 1;
                        END IF;
                    END IF;
                    -- The count includes the machine asking now, even when its kept sighting lies later.
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
