import Foundation
import GRDB
import TallyCore

/// Distinct machines per day, SKU and class (from `sightings`), for usage reports.
public struct DailyUsage: Codable, Sendable, Equatable {
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    public var sku: String
    public var productClass: String
    public var machines: Int

    public init(day: Int, sku: String, productClass: String, machines: Int) {
        self.day = day
        self.sku = sku
        self.productClass = productClass
        self.machines = machines
    }
}

/// Requests per day and result (from the 12290 events), for the dashboard's chart.
public struct DailyResults: Sendable, Equatable {
    public var day: Int
    public var result: TallyCore.ResultCode
    public var requests: Int

    public init(day: Int, result: TallyCore.ResultCode, requests: Int) {
        self.day = day
        self.result = result
        self.requests = requests
    }
}

extension SQLiteHostStore {
    /// Distinct machines per day, SKU and class for days `from...to`.
    public func usage(fromDay: Int, toDay: Int) throws -> [DailyUsage] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT day, sku, class, COUNT(*) FROM sightings WHERE day BETWEEN ? AND ?
                    GROUP BY day, sku, class ORDER BY day, sku, class
                    """, arguments: [fromDay, toDay]).map { DailyUsage(day: $0[0], sku: $0[1], productClass: $0[2], machines: $0[3]) }
            }
        } catch {
            throw SQLiteHostStore.storeError("read usage", error)
        }
    }

    /// Answered requests per day and result since `firstDay`.
    public func resultsByDay(since firstDay: Int) throws -> [DailyResults] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT CAST(time / 86400 AS INTEGER) AS day, result, COUNT(*) FROM events
                    WHERE time >= ? AND event_id = ? AND result IS NOT NULL GROUP BY day, result ORDER BY day
                    """, arguments: [Double(firstDay) * 86_400, EventID.requestHandled.rawValue]).map {
                    DailyResults(day: $0[0], result: TallyCore.ResultCode(UInt32(truncatingIfNeeded: $0[1] as Int64)), requests: $0[2])
                }
            }
        } catch {
            throw SQLiteHostStore.storeError("read results by day", error)
        }
    }

    /// The newest events, newest first.
    public func newestEvents(limit: Int) throws -> [StoredEvent] {
        do {
            let seqs = try pool.read { try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM events") } ?? 0
            return try events(since: nil, afterSeq: max(0, seqs - Int64(limit)), id: nil, limit: limit).reversed()
        } catch {
            throw SQLiteHostStore.storeError("read the newest events", error)
        }
    }

    /// The newest event with `id`, if any.
    public func lastEvent(_ id: EventID) throws -> StoredEvent? {
        do {
            guard let seq = try pool.read({ try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM events WHERE event_id = ? AND event_id != 12290",
                                                                arguments: [id.rawValue]) }) else {
                return nil
            }
            return try events(since: nil, afterSeq: seq - 1, id: id, limit: 1).first
        } catch {
            throw SQLiteHostStore.storeError("read the last \(id.rawValue) event", error)
        }
    }

    /// How many clients (CMID and SKU) the store knows.
    public func clientCount() throws -> Int {
        do {
            return try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM clients") ?? 0 }
        } catch {
            throw SQLiteHostStore.storeError("count clients", error)
        }
    }
}
