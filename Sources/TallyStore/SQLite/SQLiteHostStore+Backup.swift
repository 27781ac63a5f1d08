import Foundation
import GRDB
import TallyCore

/// Online backup through SQLite's backup API, while the host keeps committing (WAL lets the writers go on).
///
/// A backup is two files: the index at `PATH-index` first, then the log at `PATH`. The log is copied second, so
/// it holds every row the index copy does; restoring both (as `host.sqlite` and `host-index.sqlite`) gives a
/// store whose next start applies the rows the index copy lacks.
extension SQLiteHostStore {
    public func backup(to path: String) async throws -> [String] {
        let indexCopy = SQLiteHostStore.indexPath(forLog: path)
        for file in [path, indexCopy] where FileManager.default.fileExists(atPath: file) {
            throw TallyError(.usageError, "\(file) exists; a backup never overwrites a file",
                             remedy: "Choose a new file name, or move the old backup away.")
        }
        do {
            try await catchUp()
            try SQLiteHostStore.copy(index, to: indexCopy)
            try SQLiteHostStore.copy(log, to: path)
        } catch let error as TallyError {
            try? FileManager.default.removeItem(atPath: indexCopy)
            try? FileManager.default.removeItem(atPath: path)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: indexCopy)
            try? FileManager.default.removeItem(atPath: path)
            throw SQLiteHostStore.storeError("back up the store to \(path)", error)
        }
        return [path, indexCopy]
    }

    /// Copies one database and checks the copy.
    private static func copy(_ pool: DatabasePool, to path: String) throws {
        let destination = try DatabaseQueue(path: path)
        try pool.backup(to: destination)
        let problems = try destination.read { try SQLiteHostStore.integrityProblems($0) }
        try destination.close()
        guard problems.isEmpty else {
            throw TallyError(.storeUnavailable, "the backup at \(path) fails its integrity check: " + problems.prefix(5).joined(separator: "; "))
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

    public func tableCounts() async throws -> TableCounts {
        try await catchUp()
        do {
            var counts = try await index.read { db in
                var counts: TableCounts = [:]
                for table in ["clients", "sightings", "fingerprints", "machine_days", "request_totals"] {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                return counts
            }
            counts["events"] = try await log.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") ?? 0 }
            return counts
        } catch {
            throw SQLiteHostStore.storeError("count rows", error)
        }
    }
}
