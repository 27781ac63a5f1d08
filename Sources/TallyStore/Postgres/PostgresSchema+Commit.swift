/// Schema version 6: a batch decided and committed by one round trip.
///
/// `tally_decide_batch` runs in the implicit transaction of the statement that calls it, which commits at the
/// protocol's Sync. PostgresNIO ends a statement's rows at CommandComplete, before the ReadyForQuery that says
/// the commit succeeded, so version 5's hosts send a second statement (`SELECT 1`) and answer once it returns.
/// `tally_decide_commit` is a procedure that calls the function, keeps its rows in arrays, commits
/// (`synchronous_commit = on`: the commit returns once it is flushed) and only then returns them as its one row:
/// rows that arrive prove the commit, and the second round trip is gone. The deciders' lock is released at that
/// commit, as before.
///
/// The function is unchanged, so hosts of version 5 beside a version 6 one still decide right with their two
/// round trips.
extension PostgresSchema {
    /// The procedure's name and arguments, the same in every version (6 to 8).
    static let decideCommitArguments = """
        tally_decide_commit(lock_key bigint, caller_time double precision, host text,
            certificate_expires double precision, ticket_validity double precision, skew_tolerance double precision, budget bigint,
            cmids text[], skus text[], classes text[], required bigint[], client_times double precision[], blocks text[],
            prints text[], machine_names text[], license_statuses text[], field_texts text[],
            codes bigint[], licensed text, window_days bigint,
            INOUT o_codes bigint[] DEFAULT NULL, INOUT o_current bigint[] DEFAULT NULL, INOUT o_seqs bigint[] DEFAULT NULL,
            INOUT o_clock double precision DEFAULT NULL)
        """

    /// The procedure's call of the function, its rows kept in arrays, the same in every version.
    static let decideCommitBatch = """
        SELECT array_agg(d.r_code ORDER BY d.r_position), array_agg(d.r_current ORDER BY d.r_position),
                   array_agg(d.r_seq ORDER BY d.r_position), max(d.r_clock)
                INTO o_codes, o_current, o_seqs, o_clock
                FROM tally_decide_batch(lock_key, caller_time, host, certificate_expires, ticket_validity, skew_tolerance, budget,
                    cmids, skus, classes, required, client_times, blocks, prints, machine_names, license_statuses, field_texts,
                    codes, licensed, window_days) AS d
                WHERE d.r_position >= 1;
        """

    static let decideAndCommit: [String] = [
        """
        CREATE PROCEDURE \(decideCommitArguments)
        LANGUAGE plpgsql AS $$
        BEGIN
            \(decideCommitBatch)
            COMMIT;
        END
        $$
        """,
    ]
}
