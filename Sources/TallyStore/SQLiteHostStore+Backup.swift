import Foundation
import GRDB
import TallyCore

/// Online backup through SQLite's backup API: the copy is one read transaction's snapshot, so it is consistent
/// while the host keeps committing (WAL lets the writer go on).
extension SQLiteHostStore {
    /// Copies the whole store into a new file at `path` (which must not exist), then checks the copy.
    public func backup(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw TallyError(.usageError, "\(path) exists; a backup never overwrites a file",
                             remedy: "Choose a new file name, or move the old backup away.")
        }
        do {
            let destination = try DatabaseQueue(path: path)
            try pool.backup(to: destination)
            let check = try destination.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
            try destination.close()
            guard check == "ok" else { throw TallyError(.storeUnavailable, "the backup at \(path) fails its integrity check: \(check ?? "?")") }
        } catch let error as TallyError {
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw SQLiteHostStore.storeError("back up the store to \(path)", error)
        }
    }

    /// Rows per table, to compare a backup with its source.
    public func tableCounts() throws -> [String: Int] {
        do {
            return try pool.read { db in
                var counts: [String: Int] = [:]
                for table in ["clients", "sightings", "fingerprints", "events", "request_totals"] {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                return counts
            }
        } catch {
            throw SQLiteHostStore.storeError("count rows", error)
        }
    }
}
