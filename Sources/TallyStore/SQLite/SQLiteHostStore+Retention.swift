import Foundation
import GRDB
import TallyCore

/// Event retention: the log is what grows with every request. A request's row goes only once the index holds it.
extension SQLiteHostStore {
    public func deleteEvents(before cutoff: Date) async throws -> Int {
        try await catchUp()
        let indexedUpTo = indexed.withLock { $0 }
        do {
            return try await log.write { db in
                try LogSequence.holdBeforeDeleting(db)
                try db.execute(sql: "DELETE FROM events WHERE time < ? AND (event_id != 12290 OR seq <= ?)",
                               arguments: [cutoff.timeIntervalSince1970, indexedUpTo])
                return db.changesCount
            }
        } catch {
            throw SQLiteHostStore.storeError("delete old events", error)
        }
    }
}

/// Report retention: the index is what grows with every new machine. What it keeps of a machine goes once its
/// last day is older than the retention, in the index's own transaction; the memory forgets those days too.
extension SQLiteHostStore {
    public func deleteClients(before day: Int) async throws -> Int {
        try await catchUp()
        let deleted: Int
        do {
            deleted = try await index.write { db -> Int in
                try db.execute(sql: "DELETE FROM clients WHERE last_day < ?", arguments: [day])
                let clients = db.changesCount
                try db.execute(sql: "DELETE FROM sightings WHERE day < ?", arguments: [day])
                try db.execute(sql: "DELETE FROM fingerprints WHERE last_day < ?", arguments: [day])
                try db.execute(sql: "DELETE FROM machine_days WHERE day < ?", arguments: [day])
                try db.execute(sql: "DELETE FROM new_machines WHERE day < ?", arguments: [day])
                return clients
            }
        } catch {
            throw SQLiteHostStore.storeError("delete old clients", error)
        }
        memory.withLock { memory in
            memory.histogram = memory.histogram.mapValues { $0.filter { $0.key >= day } }
        }
        return deleted
    }
}
