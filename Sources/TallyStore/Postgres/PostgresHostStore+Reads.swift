import Foundation
import Logging
import PostgresNIO
import TallyCore

/// Reading the shared store: clients, events, usage, totals, for every host of the site at once.
extension PostgresHostStore {
    public func append(_ events: [TallyEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.withSession("store \(events.count) event(s)") { session in
            try await PostgresHostStore.insert(events, hostID: self.configuration.hostID, session: session, logger: self.logger)
        }
    }

    public func totals() async throws -> [TallyCore.ResultCode: Int] {
        try await catchUp()
        return try await pool.withSession("read the request totals") { session in
            var totals: [TallyCore.ResultCode: Int] = [:]
            for try await (result, requests) in try await session.query("SELECT result, requests FROM request_totals", logger: self.logger)
                .decode((Int64, Int64).self) {
                totals[TallyCore.ResultCode(UInt32(truncatingIfNeeded: result))] = Int(requests)
            }
            return totals
        }
    }

    public func clients(_ query: ClientQuery) async throws -> [ClientRecord] {
        try await catchUp()
        return try await pool.withSession("list clients") { session in
            var sql = PostgresSQL("""
                SELECT cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_result, requests, ticket_expires, license_status FROM clients WHERE true
                """)
            if let sku = query.sku { try sql.append(" AND sku = ", sku) }
            if let productClass = query.productClass { try sql.append(" AND class = ", productClass) }
            if let licenseStatus = query.licenseStatus { try sql.append(" AND lower(license_status) = lower(", licenseStatus, ")") }
            try sql.append(" ORDER BY last_seen DESC, cmid LIMIT ", Int64(query.limit))
            try sql.append(" OFFSET ", Int64(query.offset))
            var clients: [ClientRecord] = []
            let rows = try await session.query(sql.query, logger: self.logger)
            for try await (cmid, sku, productClass, fingerprint, machine, firstSeen, lastSeen, result, requests, expires, status) in rows
                .decode((String, String, String, String, String, Double, Double, Int64, Int64, Double?, String).self) {
                clients.append(ClientRecord(cmid: cmid, sku: sku, productClass: productClass, fingerprint: fingerprint, machine: machine,
                                            firstSeen: Date(timeIntervalSince1970: firstSeen), lastSeen: Date(timeIntervalSince1970: lastSeen),
                                            lastResult: TallyCore.ResultCode(UInt32(truncatingIfNeeded: result)), requests: Int(requests),
                                            ticketExpires: expires.map { Date(timeIntervalSince1970: $0) }, licenseStatus: status))
            }
            return clients
        }
    }

    public func clientCount() async throws -> Int {
        try await catchUp()
        return try await count("count clients", "SELECT COUNT(*) FROM clients")
    }

    public func eventCount() async throws -> Int {
        try await count("count events", "SELECT COUNT(*) FROM events")
    }

    func count(_ what: String, _ sql: String) async throws -> Int {
        try await pool.withSession(what) { session in
            for try await count in try await session.query(PostgresQuery(unsafeSQL: sql), logger: self.logger).decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    public func usage(fromDay: Int, toDay: Int) async throws -> [DailyUsage] {
        try await catchUp()
        return try await pool.withSession("read usage") { session in
            var usage: [DailyUsage] = []
            for try await (day, sku, productClass, machines) in try await session.query("""
                SELECT day, sku, class, COUNT(*) FROM sightings WHERE day BETWEEN \(fromDay) AND \(toDay) GROUP BY day, sku, class ORDER BY day, sku, class
                """, logger: self.logger).decode((Int, String, String, Int64).self) {
                usage.append(DailyUsage(day: day, sku: sku, productClass: productClass, machines: Int(machines)))
            }
            return usage
        }
    }

    public func events(_ query: EventQuery) async throws -> [StoredEvent] {
        var sql = PostgresSQL("SELECT seq, event_id, time, result, fields FROM events WHERE true")
        if let since = query.since { try sql.append(" AND time >= ", since.timeIntervalSince1970) }
        if let afterSeq = query.afterSeq { try sql.append(" AND seq > ", afterSeq) }
        if let id = query.id { try sql.append(" AND event_id = ", Int64(id.rawValue)) }
        try sql.append(" ORDER BY seq LIMIT ", Int64(query.limit))
        return try await readEvents("read events", sql)
    }

    public func newestEvents(limit: Int) async throws -> [StoredEvent] {
        var sql = PostgresSQL("SELECT seq, event_id, time, result, fields FROM events ORDER BY seq DESC LIMIT ")
        try sql.append("", Int64(limit))
        return try await readEvents("read the newest events", sql)
    }

    public func lastEvent(_ id: EventID) async throws -> StoredEvent? {
        var sql = PostgresSQL("SELECT seq, event_id, time, result, fields FROM events WHERE event_id != 12290 AND event_id = ")
        try sql.append("", Int64(id.rawValue), " ORDER BY seq DESC LIMIT 1")
        return try await readEvents("read the last \(id.rawValue) event", sql).first
    }

    private func readEvents(_ what: String, _ sql: PostgresSQL) async throws -> [StoredEvent] {
        let query = sql.query
        return try await pool.withSession(what) { session in
            var events: [StoredEvent] = []
            for try await (seq, id, time, result, fields) in try await session.query(query, logger: self.logger)
                .decode((Int64, Int, Double, Int64?, String).self) {
                guard let eventID = EventID(rawValue: id) else { continue }
                let decoded = (try? JSONDecoder().decode([String: String].self, from: Data(fields.utf8))) ?? [:]
                events.append(StoredEvent(seq: seq, event: TallyEvent(id: eventID, time: Date(timeIntervalSince1970: time),
                                                                      result: result.map { TallyCore.ResultCode(UInt32(truncatingIfNeeded: $0)) },
                                                                      fields: decoded)))
            }
            return events
        }
    }

    public func resultsByDay(since firstDay: Int) async throws -> [DailyResults] {
        try await pool.withSession("read results by day") { session in
            var results: [DailyResults] = []
            for try await (day, result, requests) in try await session.query("""
                SELECT floor(time / 86400)::integer AS day, result, COUNT(*) FROM events
                WHERE time >= \(Double(firstDay) * 86_400) AND event_id = 12290 AND result IS NOT NULL GROUP BY day, result ORDER BY day
                """, logger: self.logger).decode((Int, Int64, Int64).self) {
                results.append(DailyResults(day: day, result: TallyCore.ResultCode(UInt32(truncatingIfNeeded: result)), requests: Int(requests)))
            }
            return results
        }
    }

    public func newMachines(fromDay: Int, toDay: Int, busiest: Int = SQLiteHostStore.busiestBlocks) async throws -> [DailyNewMachines] {
        try await pool.withSession("read the new machines per day") { session in
            var days: [Int: DailyNewMachines] = [:]
            for try await (day, machines, addresses) in try await session.query("""
                SELECT day, SUM(machines)::bigint, COUNT(*) FROM new_machines WHERE day BETWEEN \(fromDay) AND \(toDay) AND machines > 0 GROUP BY day
                """, logger: self.logger).decode((Int, Int64, Int64).self) {
                days[day] = DailyNewMachines(day: day, machines: Int(machines), addresses: Int(addresses), busiest: [])
            }
            for day in days.keys {
                var top: [BlockMachines] = []
                for try await (block, machines) in try await session.query("""
                    SELECT block, machines FROM new_machines WHERE day = \(day) AND machines > 0 ORDER BY machines DESC, block LIMIT \(Int64(busiest))
                    """, logger: self.logger).decode((String, Int).self) {
                    top.append(BlockMachines(block: block, machines: machines))
                }
                days[day]?.busiest = top
            }
            return days.values.sorted { $0.day < $1.day }
        }
    }

    public func serving(at address: String) async throws {
        try await pool.withSession("record the host's address") { [self] session in
            _ = try await session.query("UPDATE hosts SET address = \(address) WHERE host_id = \(configuration.hostID)", logger: logger)
        }
    }

    /// The hosts that have used the store: id, address, when each started and last answered.
    public func hosts() async throws -> [StoreHost] {
        try await catchUp()
        return try await pool.withSession("list the hosts sharing the store") { session in
            var hosts: [StoreHost] = []
            for try await (id, address, started, last) in try await session.query("""
                SELECT host_id, address, started, last_answer FROM hosts ORDER BY host_id
                """, logger: self.logger).decode((String, String, Double, Double?).self) {
                hosts.append(StoreHost(id: id, address: address, started: Date(timeIntervalSince1970: started),
                                       lastAnswer: last.map { Date(timeIntervalSince1970: $0) }))
            }
            return hosts
        }
    }
}

/// One host that uses a shared store.
public struct StoreHost: Codable, Sendable, Equatable {
    public var id: String
    public var address: String
    public var started: Date
    public var lastAnswer: Date?

    public init(id: String, address: String, started: Date, lastAnswer: Date?) {
        self.id = id
        self.address = address
        self.started = started
        self.lastAnswer = lastAnswer
    }
}
