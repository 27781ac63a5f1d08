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
        // Every write of the batch in one statement: one round trip while the deciders' lock is held.
        let written = try await writeBatch(rows, counts: counts, session: session)
        for report in counts.budgetReports {
            events.append(NewMachineBudgetEvent.event(block: report.block, admitted: counts.admitted(report.block, day: report.day),
                                                      budget: context.policy.newMachineBudget, cmid: batch[report.position].request.cmid, time: time))
        }
        if !events.isEmpty { try await PostgresHostStore.insert(events, hostID: configuration.hostID, session: session, logger: logger) }
        return (zip(decisions, written.seqs).map { StoredDecision(decision: $0, time: time, seq: $1) }, written.candidates)
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
