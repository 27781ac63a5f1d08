import Foundation
import Logging
import PostgresNIO
import TallyCore

/// Retention, counting rows, and backups of the shared store. Retention runs under the maintenance advisory
/// lock, so with several hosts one sweeps at a time.
extension PostgresHostStore {
    public func deleteEvents(before cutoff: Date) async throws -> Int {
        try await catchUp()
        return try await pool.withMaintenanceSession("delete old events") { [self] session in
            try await session.query("BEGIN", logger: logger)
            do {
                try await PostgresHostStore.takeMaintenanceLock(session, logger: logger)
                var deleted = 0
                for try await count in try await session.query("""
                    WITH gone AS (DELETE FROM events WHERE time < \(cutoff.timeIntervalSince1970)
                        AND (event_id != 12290 OR seq <= (SELECT seq FROM derived WHERE id = 1)) RETURNING 1)
                    SELECT COUNT(*) FROM gone
                    """, logger: logger).decode(Int64.self) {
                    deleted = Int(count)
                }
                try await session.query("COMMIT", logger: logger)
                return deleted
            } catch {
                _ = try? await session.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func deleteClients(before day: Int) async throws -> Int {
        try await catchUp()
        return try await pool.withMaintenanceSession("delete old clients") { [self] session in
            try await session.query("BEGIN", logger: logger)
            do {
                try await PostgresHostStore.takeMaintenanceLock(session, logger: logger)
                var deleted = 0
                for try await count in try await session.query("""
                    WITH gone AS (DELETE FROM clients WHERE last_day < \(day) RETURNING 1) SELECT COUNT(*) FROM gone
                    """, logger: logger).decode(Int64.self) {
                    deleted = Int(count)
                }
                try await session.query("DELETE FROM sightings WHERE day < \(day)", logger: logger)
                try await session.query("DELETE FROM fingerprints WHERE last_day < \(day)", logger: logger)
                try await session.query("DELETE FROM machine_last WHERE last_day < \(day)", logger: logger)
                try await session.query("DELETE FROM machine_days WHERE day < \(day)", logger: logger)
                try await session.query("DELETE FROM new_machines WHERE day < \(day)", logger: logger)
                try await session.query("COMMIT", logger: logger)
                return deleted
            } catch {
                _ = try? await session.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// A PostgreSQL store is backed up with PostgreSQL's own tools, which copy it consistently while hosts write
    /// (docs/POSTGRESQL.md): this refuses, writing nothing.
    public func backup(to path: String) async throws -> [String] {
        throw TallyError(.usageError, "a PostgreSQL store is not backed up by `tally host backup`",
                         remedy: "Use PostgreSQL's tools while the hosts serve: `pg_dump --format=custom --file \(path) \(configuration.url)` (or continuous archiving); docs/POSTGRESQL.md says how to restore.")
    }

    public func tableCounts() async throws -> TableCounts {
        try await catchUp()
        return try await pool.withMaintenanceSession("count rows") { [self] session in
            var counts: TableCounts = [:]
            for table in ["clients", "sightings", "fingerprints", "machine_days", "request_totals", "events"] {
                for try await count in try await session.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger).decode(Int64.self) {
                    counts[table] = Int(count)
                }
            }
            return counts
        }
    }
}
