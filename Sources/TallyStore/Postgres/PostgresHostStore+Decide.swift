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
        for try await row in try await session.execute(PostgresPrepared<DecidersLock>(DecidersLock.query()), logger: logger) {
            databaseNow = Date(timeIntervalSince1970: try row.decode(Double.self))
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
        let (histogram, looked, ledger) = try await readState(today: today, keys: keys,
                                                              blocks: Set(batch.map { AddressBlock(address: $0.address).description }), session: session)

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

    /// In one statement (one round trip): the machines per class and last day of the window, the batch's machines'
    /// last days, and its address blocks' budget of new machines today. A statement after the one that took the lock,
    /// so its snapshot has every batch decided before this one.
    private func readState(today: Int, keys: Set<MachineKey>, blocks: Set<String>, session: PostgresConnection) async throws
        -> (histogram: [String: [Int: Int]], looked: [MachineKey: Int?], ledger: NewMachineLedger) {
        var histogram: [String: [Int: Int]] = [:]
        var looked: [MachineKey: Int?] = [:]
        var admitted: [AddressBlock: Int] = [:]
        var refused: Set<AddressBlock> = []
        let first = today - Intervals.countWindowDays + 1
        let cmids = Array(Set(keys.map(\.cmid)))
        let query = DecisionState.query(first: first, today: today, cmids: cmids, blocks: Array(blocks))
        for try await row in try await session.execute(PostgresPrepared<DecisionState>(query), logger: logger) {
            let (kind, text, other, number, flag) = try row.decode((Int, String, String, Int, Int).self)
            switch kind {
            case 1:
                histogram[text, default: [:]][number] = flag
            case 2:
                let key = MachineKey(cmid: text, productClass: other)
                if keys.contains(key) { looked[key] = number }
            default:
                let parsed = AddressBlock(address: text)
                admitted[parsed, default: 0] += number
                if flag != 0 { refused.insert(parsed) }
            }
        }
        return (histogram, looked, NewMachineLedger(day: today, admitted: admitted, refused: refused))
    }

    /// The deciders' advisory lock and the database's clock, in the batch's first statement.
    enum DecidersLock: PostgresPreparedText {
        static let name = "tally_deciders_lock"
        static let sql = query().sql

        static func query() -> PostgresQuery {
            """
            SELECT extract(epoch from now())::float8 FROM (SELECT pg_advisory_xact_lock(\(PostgresSchema.LockKey.deciders))::text AS held) AS locked
            WHERE locked.held IS NOT NULL
            """
        }
    }

    /// What a batch's decisions read (see ``readState(today:keys:blocks:session:)``).
    enum DecisionState: PostgresPreparedText {
        static let name = "tally_decision_state"
        static let sql = query(first: 0, today: 0, cmids: [], blocks: []).sql

        static func query(first: Int, today: Int, cmids: [String], blocks: [String]) -> PostgresQuery {
            """
            SELECT 1, class, '', day::bigint, machines::bigint FROM machine_days WHERE day BETWEEN \(first) AND \(today) AND machines != 0
            UNION ALL
            SELECT 2, cmid, class, MAX(last_day)::bigint, 0::bigint FROM clients WHERE cmid = ANY(\(cmids)::text[]) GROUP BY cmid, class
            UNION ALL
            SELECT 3, block, '', machines::bigint, CASE WHEN refused THEN 1 ELSE 0 END::bigint FROM new_machines
                WHERE day = \(today) AND block = ANY(\(blocks)::text[])
            """
        }
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
