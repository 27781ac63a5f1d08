import Foundation
import GRDB
import TallyCore

/// Event retention: the log is what grows with every request. A request's row goes only once the index holds it.
extension SQLiteHostStore {
    /// Request rows are found by `seq` (within the last `seq` of the days up to the cutoff, ``LogDays``), other
    /// events by their time index; the index then forgets the days that are gone (results per day go by whole
    /// days: the cutoff's own day keeps its count until the next sweep).
    public func deleteEvents(before cutoff: Date) async throws -> Int {
        try await catchUp()
        let indexedUpTo = indexed.withLock { $0 }
        let time = cutoff.timeIntervalSince1970
        do {
            let last = try await index.read { db in try LogDays.lastSeq(before: cutoff, db) }
            let deleted = try await log.write { db -> Int in
                try LogSequence.holdBeforeDeleting(db)
                try db.execute(sql: "DELETE FROM events WHERE event_id = 12290 AND seq <= ? AND time < ?", arguments: [min(last, indexedUpTo), time])
                var deleted = db.changesCount
                try db.execute(sql: "DELETE FROM events WHERE event_id != 12290 AND time < ?", arguments: [time])
                deleted += db.changesCount
                return deleted
            }
            let day = CountWindow.day(of: cutoff)
            try await index.write { db in
                try db.execute(sql: "DELETE FROM log_days WHERE day < ?", arguments: [day])
                try db.execute(sql: "DELETE FROM results_by_day WHERE day < ?", arguments: [day])
            }
            return deleted
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
