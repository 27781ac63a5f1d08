import Foundation
import Logging
import PostgresNIO
import TallyCore

/// The activation path on PostgreSQL: one transaction per batch, serialized across hosts by the deciders'
/// advisory lock, on the database's clock, durable at COMMIT.
extension PostgresHostStore {
    public func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision] {
        guard !batch.isEmpty else { return [] }
        return try await pool.withSession("commit \(batch.count) activation(s)") { session in
            try await session.query("BEGIN", logger: self.logger)
            do {
                let decided = try await self.decideAndWrite(batch, context: context, now: now, session: session)
                // The outcome of a COMMIT that fails (the connection lost mid-commit) is unknown: the batch is
                // answered 503 and nothing is granted; the next batch reads the counts from the database again.
                try await session.query("COMMIT", logger: self.logger)
                if !decided.candidates.isEmpty {
                    self.candidates.withLock { $0 = Array(($0 + decided.candidates).suffix(10_000)) }
                    self.candidatesArrived.signal()
                }
                return decided.stored
            } catch {
                _ = try? await session.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Inside the batch's transaction: lock, clock, reads, decisions, writes.
    private func decideAndWrite(_ batch: [ActivationInput], context: DecisionContext, now: Date, session: PostgresConnection) async throws
        -> (stored: [StoredDecision], candidates: [CloneCandidate]) {
        var databaseNow = now
        for try await seconds in try await session.query("""
            SELECT extract(epoch from now())::float8 FROM (SELECT pg_advisory_xact_lock(\(PostgresSchema.LockKey.deciders))::text AS held) AS locked
            WHERE locked.held IS NOT NULL
            """, logger: logger).decode(Double.self) {
            databaseNow = Date(timeIntervalSince1970: seconds)
        }
        let time = configuration.clock == .database ? databaseNow : now
        let today = CountWindow.day(of: time)
        var events: [TallyEvent] = []
        if configuration.clock == .database, let skew = skewToReport(host: now, database: databaseNow) { events.append(skew) }

        // What the decisions need, read under the lock: nobody decides between these reads and the COMMIT.
        var keys: Set<MachineKey> = []
        if let certificate = context.certificate {
            for input in batch {
                if let productClass = certificate.productClass(of: input.request.sku) { keys.insert(MachineKey(cmid: input.request.cmid, productClass: productClass)) }
            }
        }
        let histogram = try await readHistogram(today: today, session: session)
        let looked = try await readLastDays(keys, session: session)
        let ledger = try await readLedger(day: today, blocks: Set(batch.map { AddressBlock(address: $0.address).description }), session: session)

        var counts = BatchCounts(histogram: histogram, pending: [:], looked: looked, newMachines: ledger, today: today)
        var decisions: [ActivationDecision] = []
        decisions.reserveCapacity(batch.count)
        for (position, input) in batch.enumerated() {
            counts.position = position
            decisions.append(context.policy.decide(input.request, certificate: context.certificate, intervals: context.intervals,
                                                   counts: &counts, now: time, from: AddressBlock(address: input.address)))
        }

        let rows = zip(batch, decisions).map { LogRow(input: $0, decision: $1, time: time) }
        let seqs = try await insertRequests(rows, session: session)
        for report in counts.budgetReports {
            events.append(NewMachineBudgetEvent.event(block: report.block, admitted: counts.admitted(report.block, day: report.day),
                                                      budget: context.policy.newMachineBudget, cmid: batch[report.position].request.cmid, time: time))
        }
        if !events.isEmpty { try await PostgresHostStore.insert(events, hostID: configuration.hostID, session: session, logger: logger) }
        let counted = rows.filter { $0.counted && $0.productClass != nil }
        try await writeClients(counted, session: session)
        let candidates = try await writeFingerprints(counted, session: session)
        try await writeMachineDays(counts.deltas, session: session)
        try await writeLedger(counts.newMachines, session: session)
        try await writeTotals(rows, session: session)
        try await session.query("UPDATE hosts SET last_answer = \(time.timeIntervalSince1970) WHERE host_id = \(configuration.hostID)", logger: logger)
        return (zip(decisions, seqs).map { StoredDecision(decision: $0, time: time, seq: $1) }, candidates)
    }

    /// Event 12305 (and a warning) when the host's clock is more than 5 s off the database's, at most hourly.
    private func skewToReport(host: Date, database: Date) -> TallyEvent? {
        let skew = host.timeIntervalSince(database)
        guard abs(skew) > PostgresHostStore.clockSkewWarning else { return nil }
        let due = skewWarned.withLock { last -> Bool in
            guard last.map({ database.timeIntervalSince($0) >= 3600 }) ?? true else { return false }
            last = database
            return true
        }
        guard due else { return nil }
        logger.warning("this host's clock is off the store's (the database's time is used)",
                       metadata: ["seconds": "\(Int(skew.rounded()))", "host": "\(configuration.hostID)"])
        return TallyEvent(id: .storeClockSkew, time: database, fields: ["host": configuration.hostID, "seconds": String(Int(skew.rounded()))])
    }

    // MARK: Reads

    private func readHistogram(today: Int, session: PostgresConnection) async throws -> [String: [Int: Int]] {
        var histogram: [String: [Int: Int]] = [:]
        let first = today - Intervals.countWindowDays + 1
        for try await (productClass, day, machines) in try await session.query("""
            SELECT class, day, machines FROM machine_days WHERE day BETWEEN \(first) AND \(today) AND machines != 0
            """, logger: logger).decode((String, Int, Int).self) {
            histogram[productClass, default: [:]][day] = machines
        }
        return histogram
    }

    private func readLastDays(_ keys: Set<MachineKey>, session: PostgresConnection) async throws -> [MachineKey: Int?] {
        guard !keys.isEmpty else { return [:] }
        var found: [MachineKey: Int?] = [:]
        let cmids = Array(Set(keys.map(\.cmid)))
        for try await (cmid, productClass, day) in try await session.query("""
            SELECT cmid, class, MAX(last_day) FROM clients WHERE cmid = ANY(\(cmids)::text[]) GROUP BY cmid, class
            """, logger: logger).decode((String, String, Int).self) {
            let key = MachineKey(cmid: cmid, productClass: productClass)
            if keys.contains(key) { found[key] = day }
        }
        return found
    }

    private func readLedger(day: Int, blocks: Set<String>, session: PostgresConnection) async throws -> NewMachineLedger {
        var admitted: [AddressBlock: Int] = [:]
        var refused: Set<AddressBlock> = []
        for try await (block, machines, wasRefused) in try await session.query("""
            SELECT block, machines, refused FROM new_machines WHERE day = \(day) AND block = ANY(\(Array(blocks))::text[])
            """, logger: logger).decode((String, Int, Bool).self) {
            let parsed = AddressBlock(address: block)
            admitted[parsed, default: 0] += machines
            if wasRefused { refused.insert(parsed) }
        }
        return NewMachineLedger(day: day, admitted: admitted, refused: refused)
    }

    // MARK: Writes

    /// The batch's 12290 events in one statement; their sequence numbers by position.
    private func insertRequests(_ rows: [LogRow], session: PostgresConnection) async throws -> [Int64] {
        let results = rows.map { Int64($0.result.rawValue) }
        let fields = rows.map { row -> String in
            var fields = row.fields
            fields["host"] = configuration.hostID
            return String(decoding: JSONObjectWriter.object(fields), as: UTF8.self)
        }
        let time = rows[0].time.timeIntervalSince1970
        var seqs: [Int64] = []
        seqs.reserveCapacity(rows.count)
        for try await seq in try await session.query("""
            INSERT INTO events (event_id, time, result, fields, host_id)
            SELECT 12290, \(time), r, f, \(configuration.hostID) FROM unnest(\(results)::bigint[], \(fields)::text[]) WITH ORDINALITY AS t(r, f, n) ORDER BY n
            RETURNING seq
            """, logger: logger).decode(Int64.self) {
            seqs.append(seq)
        }
        guard seqs.count == rows.count else {
            throw TallyError(.storeUnavailable, "the store returned \(seqs.count) sequence numbers for \(rows.count) events")
        }
        return seqs.sorted()
    }

    /// Events that belong to no request, in the caller's transaction (or alone).
    static func insert(_ events: [TallyEvent], hostID: String, session: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        let ids = events.map { Int64($0.id.rawValue) }
        let times = events.map { $0.time.timeIntervalSince1970 }
        // -1: no result (no code is negative).
        let results = events.map { $0.result.map { Int64($0.rawValue) } ?? -1 }
        let fields = events.map { String(decoding: JSONObjectWriter.object($0.fields), as: UTF8.self) }
        try await session.query("""
            INSERT INTO events (event_id, time, result, fields, host_id)
            SELECT i, t, NULLIF(r, -1), f, \(hostID) FROM unnest(\(ids)::bigint[], \(times)::float8[], \(results)::bigint[], \(fields)::text[])
                WITH ORDINALITY AS e(i, t, r, f, n) ORDER BY n
            """, logger: logger)
    }

    /// One upsert per client (CMID and SKU) of the batch, its requests summed.
    private func writeClients(_ rows: [LogRow], session: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        struct Client { var row: LogRow; var requests: Int64; var ticketExpires: Double? }
        var order: [String] = []
        var clients: [String: Client] = [:]
        for row in rows {
            let key = row.cmid + "\u{0}" + row.sku
            if var client = clients[key] {
                client.requests += 1
                client.ticketExpires = row.ticketExpires?.timeIntervalSince1970 ?? client.ticketExpires
                client.row = row
                clients[key] = client
            } else {
                order.append(key)
                clients[key] = Client(row: row, requests: 1, ticketExpires: row.ticketExpires?.timeIntervalSince1970)
            }
        }
        let list = order.compactMap { clients[$0] }
        let time = rows[0].time.timeIntervalSince1970
        let day = CountWindow.day(of: rows[0].time)
        try await session.query("""
            INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
            SELECT c, s, k, f, m, \(time), \(time), \(day), r, q, NULLIF(x, 'NaN'), l
            FROM unnest(\(list.map(\.row.cmid))::text[], \(list.map(\.row.sku))::text[], \(list.map { $0.row.productClass ?? "" })::text[],
                        \(list.map(\.row.fingerprint))::text[], \(list.map(\.row.machine))::text[], \(list.map { Int64($0.row.result.rawValue) })::bigint[],
                        \(list.map(\.requests))::bigint[], \(list.map { $0.ticketExpires ?? .nan })::float8[], \(list.map(\.row.clientLicenseStatus))::text[])
                AS t(c, s, k, f, m, r, q, x, l)
            ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint, machine = excluded.machine,
                last_seen = excluded.last_seen, last_day = GREATEST(clients.last_day, excluded.last_day), last_result = excluded.last_result,
                requests = clients.requests + excluded.requests, ticket_expires = COALESCE(excluded.ticket_expires, clients.ticket_expires),
                license_status = excluded.license_status
            """, logger: logger)
        let sightings = Array(Set(rows.map { [$0.sku, $0.cmid, $0.productClass ?? ""] }))
        try await session.query("""
            INSERT INTO sightings (day, sku, cmid, class)
            SELECT \(day), s, c, k FROM unnest(\(sightings.map { $0[0] })::text[], \(sightings.map { $0[1] })::text[], \(sightings.map { $0[2] })::text[]) AS t(s, c, k)
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// Every machine (fingerprint) of each CMID counted; a CMID of the batch with several is a clone candidate.
    private func writeFingerprints(_ rows: [LogRow], session: PostgresConnection) async throws -> [CloneCandidate] {
        guard !rows.isEmpty else { return [] }
        var order: [String] = []
        var latest: [String: LogRow] = [:]
        var seen: [String: [String]] = [:]
        for row in rows {
            let key = row.cmid + "\u{0}" + row.fingerprint
            if latest[key] == nil { order.append(key) }
            latest[key] = row
            if !(seen[row.cmid]?.contains(row.fingerprint) ?? false) { seen[row.cmid, default: []].append(row.fingerprint) }
        }
        let list = order.compactMap { latest[$0] }
        let day = CountWindow.day(of: rows[0].time)
        let cmids = Array(seen.keys)
        var several: [String] = []
        for try await cmid in try await session.query("""
            WITH written AS (
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                SELECT c, f, m, \(day) FROM unnest(\(list.map(\.cmid))::text[], \(list.map(\.fingerprint))::text[], \(list.map(\.machine))::text[]) AS t(c, f, m)
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine, last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                RETURNING cmid, fingerprint)
            SELECT cmid FROM (
                SELECT cmid, fingerprint FROM fingerprints WHERE cmid = ANY(\(cmids)::text[])
                UNION SELECT cmid, fingerprint FROM written) AS f
            GROUP BY cmid HAVING COUNT(*) > 1
            """, logger: logger).decode(String.self) {
            several.append(cmid)
        }
        let time = rows[0].time
        return several.sorted().map { CloneCandidate(cmid: $0, day: day, time: time, fingerprints: seen[$0] ?? []) }
    }

    private func writeMachineDays(_ deltas: [String: [Int: Int]], session: PostgresConnection) async throws {
        var classes: [String] = []
        var days: [Int64] = []
        var changes: [Int64] = []
        for (productClass, byDay) in deltas {
            for (day, delta) in byDay where delta != 0 {
                classes.append(productClass)
                days.append(Int64(day))
                changes.append(Int64(delta))
            }
        }
        guard !classes.isEmpty else { return }
        try await session.query("""
            INSERT INTO machine_days (class, day, machines)
            SELECT k, d, m FROM unnest(\(classes)::text[], \(days)::bigint[], \(changes)::bigint[]) AS t(k, d, m)
            ON CONFLICT (class, day) DO UPDATE SET machines = machine_days.machines + excluded.machines
            """, logger: logger)
        try await session.query("DELETE FROM machine_days WHERE machines = 0 AND class = ANY(\(Array(Set(classes)))::text[])", logger: logger)
    }

    private func writeLedger(_ ledger: NewMachineLedger, session: PostgresConnection) async throws {
        let blocks = Set(ledger.admitted.keys).union(ledger.refused)
        guard !blocks.isEmpty else { return }
        let list = Array(blocks)
        try await session.query("""
            INSERT INTO new_machines (day, block, machines, refused)
            SELECT \(ledger.day), b, m, r FROM unnest(\(list.map(\.description))::text[], \(list.map { Int64(ledger.admitted[$0] ?? 0) })::bigint[],
                                                    \(list.map { ledger.refused.contains($0) })::bool[]) AS t(b, m, r)
            ON CONFLICT (day, block) DO UPDATE SET machines = new_machines.machines + excluded.machines, refused = new_machines.refused OR excluded.refused
            """, logger: logger)
    }

    private func writeTotals(_ rows: [LogRow], session: PostgresConnection) async throws {
        var totals: [Int64: Int64] = [:]
        for row in rows { totals[Int64(row.result.rawValue), default: 0] += 1 }
        try await session.query("""
            INSERT INTO request_totals (result, requests) SELECT r, n FROM unnest(\(Array(totals.keys))::bigint[], \(Array(totals.values))::bigint[]) AS t(r, n)
            ON CONFLICT (result) DO UPDATE SET requests = request_totals.requests + excluded.requests
            """, logger: logger)
    }

    public func counts(now: Date) async throws -> [String: Int] {
        try await pool.withSession("read the counts") { session in
            let today = try await self.today(now, session: session)
            var counts: [String: Int] = [:]
            for try await (productClass, machines) in try await session.query("""
                SELECT class, SUM(machines)::bigint FROM machine_days WHERE day BETWEEN \(today - Intervals.countWindowDays + 1) AND \(today) GROUP BY class
                """, logger: self.logger).decode((String, Int).self) {
                counts[productClass] = machines
            }
            return counts
        }
    }
}
