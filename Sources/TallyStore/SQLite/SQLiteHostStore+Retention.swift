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
                try db.execute(sql: "DELETE FROM events WHERE time < ? AND (event_id != 12290 OR seq <= ?)",
                               arguments: [cutoff.timeIntervalSince1970, indexedUpTo])
                return db.changesCount
            }
        } catch {
            throw SQLiteHostStore.storeError("delete old events", error)
        }
    }
}
