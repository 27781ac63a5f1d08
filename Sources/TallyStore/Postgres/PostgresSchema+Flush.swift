/// Schema version 7: the deciders' lock is released before the disk is flushed, not after.
///
/// In version 6 the batch's transaction commits with `synchronous_commit = on`, and PostgreSQL releases a
/// transaction's locks only once its commit is flushed. So every host's batch waited for the lock through the
/// previous batch's flush, whichever host sent it: the site decided at most one batch per flush of the
/// database's disk. Here the procedure commits the batch with `synchronous_commit` off (the lock is released and
/// the rows are visible at once), then, in a second transaction of the same call, writes a WAL record of a few
/// bytes (`pg_logical_emit_message`, transactional) and commits that one durably. A commit flushes the log up to
/// its own record, so the batch's commit, earlier in the log, is on disk when the procedure returns its row, and
/// the row still proves it. Flushes of several hosts' batches now overlap and can be one.
///
/// Why it stays correct:
/// - No answer leaves a host before a flush past its own batch (the row comes after the second commit).
/// - A batch decided on another's rows that were not yet flushed is later in the log: if it is on disk, so is the
///   other; if the server stops before either is flushed, both are lost and neither was answered.
/// - Why a message and not `SELECT pg_current_xact_id()`: a transaction that has an id but wrote no WAL commits
///   without waiting for the flush (measured: 38 flushes for 2,073 batches), so the second transaction must write.
///   A message is the smallest such write and needs no table or privilege; it is ignored by anything that does not
///   decode the log, and logical decoding sees it under the prefix `tally`.
///
/// The signature is version 6's, so a host of version 6 beside one of version 7 calls this procedure and keeps
/// deciding right.
///
/// Schema version 8: the same procedure, its statement planned once per session. A procedure cannot carry
/// `SET plan_cache_mode` (a `SET` clause forbids `COMMIT` in it), and the sessions' own setting is
/// `force_custom_plan`, so version 7 planned the call of `tally_decide_batch` for every batch (`pg_stat_statements`
/// with `track_planning`: one plan per call, 32–55 µs each). Version 8 sets `force_generic_plan` for the batch's
/// transaction, as it sets `synchronous_commit`; the statement is one function scan, whose plan does not depend on
/// the arguments.
extension PostgresSchema {
    static let flushAfterTheLock: [String] = [decideCommitProcedure(planOnce: false)]
    static let planTheCallOnce: [String] = [decideCommitProcedure(planOnce: true)]

    static func decideCommitProcedure(planOnce: Bool) -> String {
        decideCommitProcedure(["-- This transaction only: the commit below neither waits for the flush nor holds the lock through it.",
                               "PERFORM set_config('synchronous_commit', 'off', true);"]
                              + (planOnce ? ["PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);"] : [])
                              + [decideCommitBatch])
    }

    /// The procedure of versions 7 to 9: `prepare` (the transaction's settings, then the call that decides the
    /// batch into the procedure's arrays), the batch's commit, then a second, durable commit that waits for the
    /// flush past it. Each of `prepare`'s lines is a statement or comment at the body's indentation.
    static func decideCommitProcedure(_ prepare: [String]) -> String {
        """
        CREATE OR REPLACE PROCEDURE \(decideCommitArguments)
        LANGUAGE plpgsql AS $$
        BEGIN
            \(prepare.joined(separator: "\n    "))
            COMMIT;
            -- The session's synchronous_commit (on) again: this commit returns once the log is flushed past its
            -- record, the batch's commit included.
            PERFORM pg_logical_emit_message(true, 'tally', '');
            COMMIT;
        END
        $$
        """
    }
}
