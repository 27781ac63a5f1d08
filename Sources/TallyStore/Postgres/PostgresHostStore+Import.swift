import Foundation
import GRDB
import Logging
import PostgresNIO
import TallyCore

/// `tally host store migrate`: a SQLite store copied into the shared store in one transaction (under the
/// deciders' lock, so no host decides meanwhile), then checked.
///
/// Merging (another host's store into one that already holds data) counts a machine once: clients are merged by
/// CMID and SKU (first and last seen, requests summed), sightings and reported clones are sets, and the machines
/// per day are made again from the merged clients.
extension PostgresHostStore {
    /// What was copied, and what the shared store holds afterwards.
    public struct ImportSummary: Sendable, Equatable {
        public var source: TableCounts
        public var target: TableCounts
    }

    /// Rows per statement.
    static let importChunk = 5_000

    public func importStore(_ source: SQLiteHostStore, merge: Bool) async throws -> ImportSummary {
        try await source.catchUp()
        let data = try SQLiteExport.read(source)
        let before = try await tableCounts()
        if !merge && (before["clients", default: 0] > 0 || before["events", default: 0] > 0) {
            throw TallyError(.storeTargetNotEmpty, "the store \(configuration.url) already holds \(before["clients", default: 0]) client(s) and \(before["events", default: 0]) event(s)",
                             remedy: "Migrate into an empty database, or pass --merge to add this store to it (a machine both know is counted once).")
        }
        try await pool.withSessionInPlace("copy the SQLite store") { session in
            try await session.query("BEGIN", logger: logger)
            do {
                try await PostgresHostStore.takeTransactionLock(PostgresSchema.LockKey.deciders, session, logger: logger)
                try await write(data, session: session)
                try await session.query("COMMIT", logger: logger)
            } catch {
                _ = try? await session.query("ROLLBACK", logger: logger)
                throw error
            }
        }
        let after = try await tableCounts()
        let copied = ImportSummary(source: data.counts, target: after)
        // Verified before it is called done: every event copied, every client and sighting there.
        var problems: [String] = []
        if after["events", default: 0] != before["events", default: 0] + data.counts["events", default: 0] { problems.append("events") }
        if merge {
            if after["clients", default: 0] < data.counts["clients", default: 0] { problems.append("clients") }
            if after["sightings", default: 0] < data.counts["sightings", default: 0] { problems.append("sightings") }
        } else {
            for table in ["clients", "sightings"] where after[table, default: 0] != data.counts[table, default: 0] { problems.append(table) }
        }
        guard problems.isEmpty else {
            throw TallyError(.storeCopyMismatch, "the copy's counts differ from the SQLite store's (\(problems.joined(separator: ", "))): source \(data.counts), target \(after)")
        }
        return copied
    }

    private func write(_ data: SQLiteExport, session: PostgresConnection) async throws {
        for chunk in data.clients.chunked(PostgresHostStore.importChunk) {
            try await session.query("""
                INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
                SELECT c, s, k, f, m, fs, ls, d, r, q, NULLIF(x, 'NaN'), l
                FROM unnest(\(chunk.map(\.cmid))::text[], \(chunk.map(\.sku))::text[], \(chunk.map(\.productClass))::text[], \(chunk.map(\.fingerprint))::text[],
                            \(chunk.map(\.machine))::text[], \(chunk.map(\.firstSeen))::float8[], \(chunk.map(\.lastSeen))::float8[], \(chunk.map(\.lastDay))::bigint[],
                            \(chunk.map(\.lastResult))::bigint[], \(chunk.map(\.requests))::bigint[], \(chunk.map(\.ticketExpires))::float8[],
                            \(chunk.map(\.licenseStatus))::text[]) AS t(c, s, k, f, m, fs, ls, d, r, q, x, l)
                ON CONFLICT (cmid, sku) DO UPDATE SET
                    first_seen = LEAST(clients.first_seen, excluded.first_seen),
                    class = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.class ELSE clients.class END,
                    fingerprint = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.fingerprint ELSE clients.fingerprint END,
                    machine = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.machine ELSE clients.machine END,
                    last_result = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.last_result ELSE clients.last_result END,
                    license_status = CASE WHEN excluded.last_seen > clients.last_seen THEN excluded.license_status ELSE clients.license_status END,
                    last_seen = GREATEST(clients.last_seen, excluded.last_seen), last_day = GREATEST(clients.last_day, excluded.last_day),
                    requests = clients.requests + excluded.requests,
                    ticket_expires = GREATEST(clients.ticket_expires, excluded.ticket_expires)
                """, logger: logger)
            // Every client's machine is a fingerprint of its CMID in the shared store.
            try await session.query("""
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                SELECT c, f, m, d FROM unnest(\(chunk.map(\.cmid))::text[], \(chunk.map(\.fingerprint))::text[], \(chunk.map(\.machine))::text[],
                                               \(chunk.map(\.lastDay))::bigint[]) AS t(c, f, m, d)
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                """, logger: logger)
        }
        for chunk in data.sightings.chunked(PostgresHostStore.importChunk) {
            try await session.query("""
                INSERT INTO sightings (day, sku, cmid, class)
                SELECT d, s, c, k FROM unnest(\(chunk.map(\.day))::bigint[], \(chunk.map(\.sku))::text[], \(chunk.map(\.cmid))::text[], \(chunk.map(\.productClass))::text[]) AS t(d, s, c, k)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        for chunk in data.fingerprints.chunked(PostgresHostStore.importChunk) {
            try await session.query("""
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                SELECT c, f, m, d FROM unnest(\(chunk.map(\.cmid))::text[], \(chunk.map(\.fingerprint))::text[], \(chunk.map(\.machine))::text[],
                                               \(chunk.map(\.lastDay))::bigint[]) AS t(c, f, m, d)
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                """, logger: logger)
        }
        // The last day of each machine per class, then the machines per class and last day made again from them: a
        // machine both stores know is one.
        try await session.query("""
            INSERT INTO machine_last (cmid, class, last_day) SELECT cmid, class, MAX(last_day) FROM clients GROUP BY cmid, class
            ON CONFLICT (cmid, class) DO UPDATE SET last_day = GREATEST(machine_last.last_day, excluded.last_day)
            """, logger: logger)
        try await session.query("DELETE FROM machine_days", logger: logger)
        try await session.query("INSERT INTO machine_days (class, day, machines) SELECT class, last_day, COUNT(*) FROM machine_last GROUP BY class, last_day",
                                logger: logger)
        if !data.totals.isEmpty {
            try await session.query("""
                INSERT INTO request_totals (result, requests) SELECT r, n FROM unnest(\(data.totals.map { $0.0 })::bigint[], \(data.totals.map { $0.1 })::bigint[]) AS t(r, n)
                ON CONFLICT (result) DO UPDATE SET requests = request_totals.requests + excluded.requests
                """, logger: logger)
        }
        if !data.newMachines.isEmpty {
            try await session.query("""
                INSERT INTO new_machines (day, block, machines)
                SELECT d, b, m FROM unnest(\(data.newMachines.map(\.day))::bigint[], \(data.newMachines.map(\.block))::text[], \(data.newMachines.map(\.machines))::bigint[]) AS t(d, b, m)
                ON CONFLICT (day, block) DO UPDATE SET machines = new_machines.machines + excluded.machines
                """, logger: logger)
        }
        if !data.cloneReports.isEmpty {
            try await session.query("""
                INSERT INTO clone_reports (cmid, fingerprint, day)
                SELECT c, f, d FROM unnest(\(data.cloneReports.map(\.cmid))::text[], \(data.cloneReports.map(\.fingerprint))::text[], \(data.cloneReports.map(\.day))::bigint[]) AS t(c, f, d)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        if !data.cloneReportDays.isEmpty {
            try await session.query("""
                INSERT INTO clone_report_days (cmid, day) SELECT c, d FROM unnest(\(data.cloneReportDays.map { $0.0 })::text[], \(data.cloneReportDays.map { $0.1 })::bigint[]) AS t(c, d)
                ON CONFLICT (cmid) DO UPDATE SET day = GREATEST(clone_report_days.day, excluded.day)
                """, logger: logger)
        }
        for chunk in data.events.chunked(PostgresHostStore.importChunk) {
            try await PostgresHostStore.insert(Array(chunk), hostID: configuration.hostID, session: session, logger: logger)
        }
    }
}

/// Everything of a SQLite store, read in one pass (index and log).
struct SQLiteExport {
    struct Client { var cmid, sku, productClass, fingerprint, machine: String; var firstSeen, lastSeen: Double; var lastDay, lastResult, requests: Int64
        var ticketExpires: Double; var licenseStatus: String }
    struct Sighting { var day: Int64; var sku, cmid, productClass: String }
    struct Fingerprint { var cmid, fingerprint, machine: String; var lastDay: Int64 }
    struct NewMachines { var day: Int64; var block: String; var machines: Int64 }
    struct CloneReported { var cmid, fingerprint: String; var day: Int64 }

    var clients: [Client] = []
    var sightings: [Sighting] = []
    var fingerprints: [Fingerprint] = []
    var totals: [(Int64, Int64)] = []
    var newMachines: [NewMachines] = []
    var cloneReports: [CloneReported] = []
    var cloneReportDays: [(String, Int64)] = []
    var events: [TallyEvent] = []
    var counts: TableCounts = [:]

    static func read(_ store: SQLiteHostStore) throws -> SQLiteExport {
        var data = SQLiteExport()
        do {
            try store.index.read { db in
                data.clients = try Row.fetchAll(db, sql: """
                    SELECT cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status FROM clients
                    """).map {
                    Client(cmid: $0[0], sku: $0[1], productClass: $0[2], fingerprint: $0[3], machine: $0[4], firstSeen: $0[5], lastSeen: $0[6], lastDay: $0[7],
                           lastResult: $0[8], requests: $0[9], ticketExpires: ($0[10] as Double?) ?? .nan, licenseStatus: $0[11])
                }
                data.sightings = try Row.fetchAll(db, sql: "SELECT day, sku, cmid, class FROM sightings").map {
                    Sighting(day: $0[0], sku: $0[1], cmid: $0[2], productClass: $0[3])
                }
                data.fingerprints = try Row.fetchAll(db, sql: "SELECT cmid, fingerprint, machine, last_day FROM fingerprints").map {
                    Fingerprint(cmid: $0[0], fingerprint: $0[1], machine: $0[2], lastDay: $0[3])
                }
                data.totals = try Row.fetchAll(db, sql: "SELECT result, requests FROM request_totals").map { ($0[0], $0[1]) }
                data.newMachines = try Row.fetchAll(db, sql: "SELECT day, block, machines FROM new_machines").map {
                    NewMachines(day: $0[0], block: $0[1], machines: $0[2])
                }
            }
            try store.log.read { db in
                data.cloneReports = try Row.fetchAll(db, sql: "SELECT cmid, fingerprint, day FROM clone_reports").map {
                    CloneReported(cmid: $0[0], fingerprint: $0[1], day: $0[2])
                }
                data.cloneReportDays = try Row.fetchAll(db, sql: "SELECT cmid, day FROM clone_report_days").map { ($0[0], $0[1]) }
                data.events = try Row.fetchAll(db, sql: "SELECT seq, event_id, time, result, fields, \(LogRow.columns) FROM events ORDER BY seq")
                    .compactMap(SQLiteHostStore.storedEvent).map(\.event)
            }
        } catch {
            throw SQLiteHostStore.storeError("read the SQLite store to copy it", error)
        }
        data.counts = ["clients": data.clients.count, "sightings": data.sightings.count, "events": data.events.count]
        return data
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
