import Foundation
import Logging
import PostgresNIO
import TallyCore

/// The activation path on PostgreSQL, one transaction of four round trips per batch, serialized across hosts by
/// the deciders' advisory lock, on the database's clock, durable at COMMIT:
///
/// 1. `BEGIN`;
/// 2. `tally_lock_and_read` takes the lock (until COMMIT), then reads the clock and what the decisions need (one
///    statement, whose query sees every batch decided before: see schema migration 3);
/// 3. the batch is decided here and written in one statement;
/// 4. `COMMIT`, whose answer comes only once the commit is durable (`synchronous_commit = on`).
///
/// The write is not left to an implicit transaction: that one commits at the protocol's Sync, after the statement
/// reported its rows, so a session lost then would leave a batch answered whose commit nobody saw. A COMMIT that
/// fails, even with its outcome unknown (the connection lost mid-commit), is answered 503 and never granted; the
/// next batch reads the counts afresh, so it is decided on whatever the database holds.
extension PostgresHostStore {
    public func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision] {
        guard !batch.isEmpty else { return [] }
        return try await pool.withSession("commit \(batch.count) activation(s)") { session in
            try await session.query("BEGIN", logger: self.logger)
            do {
                let decided = try await self.decideAndWrite(batch, context: context, now: now, session: session)
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

    /// Inside the batch's transaction: lock, clock and reads; decisions; the write.
    private func decideAndWrite(_ batch: [ActivationInput], context: DecisionContext, now: Date, session: PostgresConnection) async throws
        -> (stored: [StoredDecision], candidates: [CloneCandidate]) {
        var keys: Set<MachineKey> = []
        if let certificate = context.certificate {
            for input in batch {
                if let productClass = certificate.productClass(of: input.request.sku) { keys.insert(MachineKey(cmid: input.request.cmid, productClass: productClass)) }
            }
        }
        let callerDay = configuration.clock == .database ? nil : CountWindow.day(of: now)
        let state = try await lockAndRead(callerDay: callerDay, keys: keys, blocks: Set(batch.map { AddressBlock(address: $0.address).description }),
                                          session: session)
        let time = configuration.clock == .database ? state.clock : now
        let today = state.today
        var events: [TallyEvent] = []
        if configuration.clock == .database, let skew = skewToReport(host: now, database: state.clock) { events.append(skew) }

        var counts = BatchCounts(histogram: state.histogram, pending: [:], looked: state.looked, newMachines: state.ledger, today: today)
        var decisions: [ActivationDecision] = []
        decisions.reserveCapacity(batch.count)
        for (position, input) in batch.enumerated() {
            counts.position = position
            decisions.append(context.policy.decide(input.request, certificate: context.certificate, intervals: context.intervals,
                                                   counts: &counts, now: time, from: AddressBlock(address: input.address)))
        }

        let rows = zip(batch, decisions).map { LogRow(input: $0, decision: $1, time: time) }
        for report in counts.budgetReports {
            events.append(NewMachineBudgetEvent.event(block: report.block, admitted: counts.admitted(report.block, day: report.day),
                                                      budget: context.policy.newMachineBudget, cmid: batch[report.position].request.cmid, time: time))
        }
        // Every write of the batch, its other events included, in one statement.
        let written = try await writeBatch(rows, counts: counts, otherEvents: events, session: session)
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

    /// What a batch's decisions read, after the lock (see ``LockAndRead``).
    struct DecisionState {
        var today: Int
        var clock: Date
        var histogram: [String: [Int: Int]] = [:]
        var looked: [MachineKey: Int?] = [:]
        var ledger: NewMachineLedger
    }

    /// One round trip: the deciders' lock (held until COMMIT), the day and the database's clock,
    /// the machines per class and last day of the window, the batch's machines' last days, and its address
    /// blocks' budget of new machines today.
    private func lockAndRead(callerDay: Int?, keys: Set<MachineKey>, blocks: Set<String>, session: PostgresConnection) async throws -> DecisionState {
        var today = callerDay ?? 0
        var clock = Date()
        var histogram: [String: [Int: Int]] = [:]
        var looked: [MachineKey: Int?] = [:]
        var admitted: [AddressBlock: Int] = [:]
        var refused: Set<AddressBlock> = []
        let query = LockAndRead.query(callerDay: callerDay ?? -1, cmids: Array(Set(keys.map(\.cmid))), blocks: Array(blocks))
        for try await row in try await session.execute(PostgresPrepared<LockAndRead>(query), logger: logger) {
            let (kind, text, other, number, flag, seconds) = try row.decode((Int, String, String, Int, Int, Double).self)
            switch kind {
            case 0:
                today = number
                clock = Date(timeIntervalSince1970: seconds)
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
        return DecisionState(today: today, clock: clock, histogram: histogram, looked: looked,
                             ledger: NewMachineLedger(day: today, admitted: admitted, refused: refused))
    }

    /// The batch's first statement: `tally_lock_and_read` (schema migration 3).
    enum LockAndRead: PostgresPreparedText {
        static let name = "tally_lock_and_read"
        static let sql = query(callerDay: 0, cmids: [], blocks: []).sql

        /// `callerDay` −1: the database's clock decides the day.
        static func query(callerDay: Int, cmids: [String], blocks: [String]) -> PostgresQuery {
            """
            SELECT r_kind, r_name, r_other, r_number, r_flag, r_clock
            FROM tally_lock_and_read(\(PostgresSchema.LockKey.deciders), \(Int64(callerDay)), \(Int64(Intervals.countWindowDays)), \(cmids)::text[], \(blocks)::text[])
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
