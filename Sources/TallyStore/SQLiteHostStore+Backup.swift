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
            let problems = try destination.read { try SQLiteHostStore.integrityProblems($0) }
            try destination.close()
            guard problems.isEmpty else {
                throw TallyError(.storeUnavailable, "the backup at \(path) fails its integrity check: " + problems.prefix(5).joined(separator: "; "))
            }
        } catch let error as TallyError {
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw SQLiteHostStore.storeError("back up the store to \(path)", error)
        }
    }

    /// `PRAGMA integrity_check`'s findings. SQLite 3.40 (Debian 12's) reports "NULL value in T.C" for NOT NULL
    /// columns of WITHOUT ROWID tables that hold no NULL at all (fixed in later SQLite); such a finding counts
    /// only when a query finds the NULL.
    static func integrityProblems(_ db: Database) throws -> [String] {
        var problems: [String] = []
        for line in try String.fetchAll(db, sql: "PRAGMA integrity_check") where line != "ok" {
            if line.hasPrefix("NULL value in "), case let parts = line.dropFirst("NULL value in ".count).split(separator: "."), parts.count == 2,
               parts.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }) {
                let nulls = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(parts[0]) WHERE \(parts[1]) IS NULL") ?? 0
                if nulls == 0 { continue }
            }
            problems.append(line)
        }
        return problems
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
