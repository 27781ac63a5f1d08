import Foundation
import Logging
import PostgresNIO
import TallyCore

/// The activation path on PostgreSQL: a batch is one statement, `CALL tally_decide_commit` (schema migrations 6
/// to 9), one round trip:
///
/// 1. the procedure calls `tally_decide` (migration 9), which takes the deciders' advisory lock, reads the
///    database's clock, decides the batch's requests in order by ActivationPolicy's table, writes its 12290 events
///    and what the next decisions read (the client inventory is derived from the events behind it:
///    ``catchUp()``), and returns the codes, counts and event numbers;
/// 2. the procedure keeps those and commits, which releases the lock at once, then commits a second
///    transaction durably (`synchronous_commit = on`), which waits for the flush past the first; only then does
///    it return them as its one row. So a row that arrives proves the batch is on disk: a commit that failed, or
///    a session lost before the row came, fails the call, and the batch is answered 503.
///
/// No round trip to a host lies inside the lock, so the hosts sharing the store wait for each other only as long
/// as PostgreSQL takes to decide and commit a batch. A batch whose commit is not known is answered 503 and never
/// granted; the next batch reads the counts afresh, so it is decided on whatever the database holds.
extension PostgresHostStore {
    public func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision] {
        guard !batch.isEmpty else { return [] }
        let values = decideValues(batch, context: context, now: now)
        let decided = try await pool.withSession("commit \(batch.count) activation(s)", on: .decidersLoop) { session in
            let decided = try await self.decideAndWrite(values, session: session)
            // A clock-skew warning's event when one is due (at most hourly), after the batch's commit.
            if self.configuration.clock == .database, let skew = self.skewToReport(host: now, database: decided.clock) {
                try await PostgresHostStore.insert([skew], hostID: self.configuration.hostID, session: session, logger: self.logger)
            }
            return decided
        }
        guard decided.rows.count == batch.count else {
            throw TallyError(.storeUnavailable, "the store returned \(decided.rows.count) decisions for \(batch.count) requests")
        }
        let time = Date(timeIntervalSince1970: decided.clock)
        var stored: [StoredDecision] = []
        stored.reserveCapacity(batch.count)
        for index in batch.indices {
            let row = decided.rows[index]
            let decision = ActivationPolicy.decision(row.code, productClass: values.classes[index].isEmpty ? nil : values.classes[index],
                                                     currentCount: row.count, requiredCount: Int(clamping: values.required[index]),
                                                     intervals: context.intervals, certificate: context.certificate, now: time)
            stored.append(StoredDecision(decision: decision, time: time, seq: row.seq))
        }
        return stored
    }

    /// The statement's arguments for a batch (see ``DecideBatch``).
    private func decideValues(_ batch: [ActivationInput], context: DecisionContext, now: Date) -> DecideBatch.Values {
        var values = DecideBatch.Values()
        values.callerTime = configuration.clock == .database ? -1 : now.timeIntervalSince1970
        values.hostID = configuration.hostID
        values.certificateExpires = context.certificate.map { $0.exp.date.timeIntervalSince1970 }
        values.skewTolerance = context.policy.clockSkewTolerance
        values.budget = Int64(context.policy.newMachineBudget.perAddress)
        // For the fields that come from the request (the decision's two counts are left out below).
        let placeholder = ActivationDecision(code: .success, productClass: nil, currentCount: 0, requiredCount: 0, counted: false)
        for input in batch {
            let request = input.request
            let productClass = context.certificate?.productClass(of: request.sku)
            values.cmids.append(request.cmid)
            values.skus.append(request.sku)
            values.classes.append(productClass ?? "")
            values.required.append(productClass.map { Int64(clamping: context.certificate?.thr[$0] ?? Int.max) } ?? 0)
            values.clientTimes.append(request.clientTime.timeIntervalSince1970)
            values.blocks.append(AddressBlock(address: input.address).description)
            values.fingerprints.append(request.fingerprint)
            values.machines.append(input.machine)
            values.licenseStatuses.append(input.licenseStatus)
            // The 12290 event's fields but the two counts, which the statement appends with the closing brace.
            var fields = LogRow(input: input, decision: placeholder, time: now).fields
            fields["minCount"] = nil
            fields["currentCount"] = nil
            fields["host"] = configuration.hostID
            var text = String(decoding: JSONObjectWriter.object(fields), as: UTF8.self)
            assert(text.hasSuffix("}") && fields.count > 0)
            text.removeLast()
            values.fieldTexts.append(text)
        }
        return values
    }

    struct DecidedBatch: Sendable {
        struct Row: Sendable {
            var code: ResultCode
            var count: Int
            var seq: Int64
        }
        var clock: Double
        var rows: [Row]
    }

    /// The one statement of a batch: lock, clock, decisions, writes and the commit; its row comes after the commit.
    private func decideAndWrite(_ values: DecideBatch.Values, session: PostgresConnection) async throws -> DecidedBatch {
        var decided: DecidedBatch?
        for try await row in try await session.execute(PostgresPrepared<DecideBatch>(DecideBatch.query(values)), logger: logger) {
            let (codes, counts, seqs, clock) = try row.decode(([Int64]?, [Int64]?, [Int64]?, Double?).self)
            let (c, n, q) = (codes ?? [], counts ?? [], seqs ?? [])
            guard c.count == n.count, c.count == q.count else {
                throw TallyError(.storeUnavailable, "the store returned \(c.count) codes, \(n.count) counts and \(q.count) event numbers")
            }
            decided = DecidedBatch(clock: clock ?? 0, rows: c.indices.map {
                DecidedBatch.Row(code: ResultCode(UInt32(truncatingIfNeeded: c[$0])), count: Int(n[$0]), seq: q[$0])
            })
        }
        return decided ?? DecidedBatch(clock: 0, rows: [])
    }

    /// Event 12305 (and a warning) when the host's clock is more than 5 s off the database's, at most hourly.
    private func skewToReport(host: Date, database: Double) -> TallyEvent? {
        let database = Date(timeIntervalSince1970: database)
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

    /// `tally_decide_commit` (schema migrations 6 to 9; its arguments are `tally_decide_batch`'s of versions 4 and
    /// 5), prepared once per session.
    enum DecideBatch: PostgresPreparedText {
        static let name = "tally_decide_commit"
        static let sql = query(Values()).sql

        /// The statement's arguments, one array per request field (empty for placeholder values).
        struct Values: Sendable {
            /// −1: the database's clock decides.
            var callerTime = -1.0
            var hostID = ""
            var certificateExpires: Double?
            var skewTolerance = 0.0
            var budget: Int64 = 0
            var cmids: [String] = [], skus: [String] = [], classes: [String] = [], required: [Int64] = [], clientTimes: [Double] = []
            var blocks: [String] = [], fingerprints: [String] = [], machines: [String] = [], licenseStatuses: [String] = []
            var fieldTexts: [String] = []
        }

        /// The result codes the statement decides, in the order of its `codes` argument.
        static let codes: [Int64] = [ResultCode.success, .countTooLow, .hostNotActivated, .skuNotCovered, .clockSkew, .newMachineBudgetExceeded]
            .map { Int64($0.rawValue) }

        static func query(_ v: Values) -> PostgresQuery {
            """
            CALL tally_decide_commit(\(PostgresSchema.LockKey.deciders), \(v.callerTime), \(v.hostID), \(v.certificateExpires)::float8,
                \(Intervals.activationValidity), \(v.skewTolerance), \(v.budget),
                \(v.cmids)::text[], \(v.skus)::text[], \(v.classes)::text[], \(v.required)::bigint[], \(v.clientTimes)::float8[], \(v.blocks)::text[],
                \(v.fingerprints)::text[], \(v.machines)::text[], \(v.licenseStatuses)::text[], \(v.fieldTexts)::text[],
                \(codes)::bigint[], \(LicenseStatus.licensed.rawValue), \(Int64(Intervals.countWindowDays)))
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
