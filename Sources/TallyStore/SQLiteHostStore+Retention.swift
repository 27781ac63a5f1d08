import Foundation
import GRDB
import TallyCore

/// Event retention: the events table is the one that grows with every request.
extension SQLiteHostStore {
    /// Deletes events older than `cutoff`; returns how many went.
    @discardableResult
    public func deleteEvents(before cutoff: Date) throws -> Int {
        do {
            return try pool.write { db in
                try db.execute(sql: "DELETE FROM events WHERE time < ?", arguments: [cutoff.timeIntervalSince1970])
                return db.changesCount
            }
        } catch {
            throw SQLiteHostStore.storeError("delete old events", error)
        }
    }

    /// How many events the store holds.
    public func eventCount() throws -> Int {
        do {
            return try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") ?? 0 }
        } catch {
            throw SQLiteHostStore.storeError("count events", error)
        }
    }
}
