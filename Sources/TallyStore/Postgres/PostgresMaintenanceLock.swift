import Logging
import PostgresNIO

extension PostgresHostStore {
    /// Takes the maintenance advisory lock for the session's transaction (clone reports, retention, the site's
    /// report chain: one host at a time). The wait is bounded by `statement_timeout` rather than the 1 s
    /// `lock_timeout` of the activation path: another host's sweep may hold it for longer, and this is no request.
    ///
    /// The lock's row is read to its end: postgres-nio returns from `query` once the row description arrives, so
    /// an error of the statement itself (a timeout) shows only when its rows are read; left unread, the next
    /// statement would fail with "current transaction is aborted" instead.
    static func takeMaintenanceLock(_ session: PostgresConnection, logger: Logger) async throws {
        try await takeTransactionLock(PostgresSchema.LockKey.maintenance, session, logger: logger)
    }

    /// Takes the advisory lock `key` for the transaction, waiting up to `statement_timeout` (see above).
    static func takeTransactionLock(_ key: Int64, _ session: PostgresConnection, logger: Logger) async throws {
        try await session.query("SET LOCAL lock_timeout = 0", logger: logger)
        for try await _ in try await session.query("SELECT pg_advisory_xact_lock(\(key))::text", logger: logger).decode(String.self) {}
    }
}
