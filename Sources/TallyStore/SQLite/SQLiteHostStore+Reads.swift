import Foundation
import GRDB
import TallyCore

/// Reading the store. What comes from the index is read after the index has caught up with the log, so a reader
/// sees every answered request.
extension SQLiteHostStore {
    public func append(_ events: [TallyEvent]) async throws {
        do {
            try await log.write { db in
                var seq = try LogSequence.next(db)
                for event in events {
                    try SQLiteHostStore.insert(event, seq: seq, db)
                    seq += 1
                }
            }
        } catch {
            throw SQLiteHostStore.storeError("store \(events.count) event(s)", error)
        }
    }

    /// Appends one event (not a request's: those are ``LogRow``s) as `seq` in the caller's transaction.
    static func insert(_ event: TallyEvent, seq: Int64, _ db: Database) throws {
        let fields = String(decoding: JSONObjectWriter.object(event.fields), as: UTF8.self)
        try db.cachedStatement(sql: "INSERT INTO events (seq, event_id, time, result, fields) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [seq, event.id.rawValue, event.time.timeIntervalSince1970, event.result.map { Int64($0.rawValue) }, fields])
    }

    public func totals() async throws -> [TallyCore.ResultCode: Int] {
        try await catchUp()
        return try await indexRead("read the request totals") { db in
            var totals: [TallyCore.ResultCode: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT result, requests FROM request_totals") {
                totals[TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[0] as Int64))] = row[1]
            }
            return totals
        }
    }

    public func clients(_ query: ClientQuery) async throws -> [ClientRecord] {
        try await catchUp()
        return try await indexRead("list clients") { db in
            var sql = "SELECT cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_result, requests, ticket_expires, license_status FROM clients WHERE 1"
            var arguments: StatementArguments = []
            if let sku = query.sku { sql += " AND sku = ?"; arguments += [sku] }
            if let productClass = query.productClass { sql += " AND class = ?"; arguments += [productClass] }
            if let licenseStatus = query.licenseStatus { sql += " AND license_status = ? COLLATE NOCASE"; arguments += [licenseStatus] }
            sql += " ORDER BY last_seen DESC, cmid LIMIT ? OFFSET ?"
            arguments += [query.limit, query.offset]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                ClientRecord(cmid: row[0], sku: row[1], productClass: row[2], fingerprint: row[3], machine: row[4],
                             firstSeen: Date(timeIntervalSince1970: row[5]), lastSeen: Date(timeIntervalSince1970: row[6]),
                             lastResult: TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[7] as Int64)), requests: row[8],
                             ticketExpires: (row[9] as Double?).map { Date(timeIntervalSince1970: $0) }, licenseStatus: row[10])
            }
        }
    }

    public func clientCount() async throws -> Int {
        try await catchUp()
        return try await indexRead("count clients") { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM clients") ?? 0 }
    }

    public func usage(fromDay: Int, toDay: Int) async throws -> [DailyUsage] {
        try await catchUp()
        return try await indexRead("read usage") { db in
            try Row.fetchAll(db, sql: """
                SELECT day, sku, class, COUNT(*) FROM sightings WHERE day BETWEEN ? AND ?
                GROUP BY day, sku, class ORDER BY day, sku, class
                """, arguments: [fromDay, toDay]).map { DailyUsage(day: $0[0], sku: $0[1], productClass: $0[2], machines: $0[3]) }
        }
    }

    public func events(_ query: EventQuery) async throws -> [StoredEvent] {
        guard let since = query.since else {
            return try await logRead("read events") { db in try SQLiteHostStore.events(query, db) }
        }
        // From a time on: request rows from the first `seq` of those days (``LogDays``), other events by their
        // own time index; each in `seq` order, merged.
        try await catchUp()
        let first = try await indexRead("read the log's days") { db in try LogDays.firstSeq(since: since, db) }
        return try await logRead("read events") { db in
            var requests = query
            requests.afterSeq = max(query.afterSeq ?? 0, first - 1)
            let fromFirst = try SQLiteHostStore.events(requests, db)
            let others = query.id == .requestHandled ? [] : try SQLiteHostStore.events(query, db, otherThanRequestsBefore: first)
            return Array((fromFirst + others).sorted { $0.seq < $1.seq }.prefix(query.limit))
        }
    }

    /// Events as `query` asks, in `seq` order; with `otherThanRequestsBefore`, only other events below that `seq`.
    static func events(_ query: EventQuery, _ db: Database, otherThanRequestsBefore bound: Int64? = nil) throws -> [StoredEvent] {
        var sql = "SELECT seq, event_id, time, result, fields, \(LogRow.columns) FROM events WHERE 1"
        var arguments: StatementArguments = []
        if let bound { sql += " AND event_id != 12290 AND seq < ?"; arguments += [bound] }
        if let since = query.since { sql += " AND time >= ?"; arguments += [since.timeIntervalSince1970] }
        if let afterSeq = query.afterSeq { sql += " AND seq > ?"; arguments += [afterSeq] }
        if let id = query.id { sql += " AND event_id = ?"; arguments += [id.rawValue] }
        sql += " ORDER BY seq LIMIT ?"
        arguments += [query.limit]
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(SQLiteHostStore.storedEvent)
    }

    /// An event row selected as `seq, event_id, time, result, fields, <LogRow.columns>`.
    static func storedEvent(_ row: Row) -> StoredEvent? {
        guard let eventID = EventID(rawValue: row[1]) else { return nil }
        let seq: Int64 = row[0]
        if let json = row[4] as String? {
            let fields = (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
            let event = TallyEvent(id: eventID, time: Date(timeIntervalSince1970: row[2]),
                                   result: (row[3] as Int64?).map { TallyCore.ResultCode(UInt32(truncatingIfNeeded: $0)) }, fields: fields)
            return StoredEvent(seq: seq, event: event)
        }
        // A request's row: its columns start after `fields`.
        return StoredEvent(seq: seq, event: LogRow(row: row, first: 5).event)
    }

    public func newestEvents(limit: Int) async throws -> [StoredEvent] {
        let newest = try await logRead("read the newest events") { try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM events") } ?? 0
        return try await events(EventQuery(afterSeq: max(0, newest - Int64(limit)), limit: limit)).reversed()
    }

    public func lastEvent(_ id: EventID) async throws -> StoredEvent? {
        guard let seq = try await logRead("read the last \(id.rawValue) event", {
            try Int64.fetchOne($0, sql: "SELECT MAX(seq) FROM events WHERE event_id = ? AND event_id != 12290", arguments: [id.rawValue])
        }) else { return nil }
        return try await events(EventQuery(afterSeq: seq - 1, id: id, limit: 1)).first
    }

    public func eventCount() async throws -> Int {
        try await logRead("count events") { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM events") ?? 0 }
    }

    public func resultsByDay(since firstDay: Int) async throws -> [DailyResults] {
        try await catchUp()
        return try await indexRead("read results by day") { db in
            try Row.fetchAll(db, sql: "SELECT day, result, requests FROM results_by_day WHERE day >= ? ORDER BY day, result", arguments: [firstDay]).map {
                DailyResults(day: $0[0], result: TallyCore.ResultCode(UInt32(truncatingIfNeeded: $0[1] as Int64)), requests: $0[2])
            }
        }
    }

    func logRead<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await log.read(body)
        } catch {
            throw SQLiteHostStore.storeError(what, error)
        }
    }

    func indexRead<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await index.read(body)
        } catch {
            throw SQLiteHostStore.storeError(what, error)
        }
    }
}
