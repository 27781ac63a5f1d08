import Foundation
import GRDB
import Logging
import ServiceLifecycle
import TallyCore

/// Makes the index from the log: clients, sightings, the fingerprints of cloned images, machines per class and
/// last day, request totals. It applies log rows in order, in large transactions (a few thousand rows dirty far
/// fewer pages each than one row at a time), and records the last row applied in the same transaction, so a
/// crash at any step leaves an index that the next start completes from the log.
///
/// Fingerprints are kept only for CMIDs seen with more than one (a cloned image): a CMID's first fingerprint is
/// its client row's. When a request brings a second one, both go to `fingerprints` and the CMID becomes a clone
/// candidate; every later request of a tracked CMID does too, so the daily report of a clone needs no memory.
enum SQLiteIndexer {
    /// Log rows per transaction at most.
    static let defaultChunkRows = 20_000
    /// What the indexer uses (a debug build's tests may make it smaller: ``CrashPoint/chunkRows``).
    static var chunkRows: Int { CrashPoint.chunkRows }

    /// The last day each machine was counted in its class, from the index (`nil`: never).
    static func lastDays(of keys: Set<MachineKey>, _ db: Database) throws -> [MachineKey: Int?] {
        let statement = try db.cachedStatement(sql: "SELECT MAX(last_day) FROM clients WHERE cmid = ? AND class = ?")
        var found: [MachineKey: Int?] = [:]
        found.reserveCapacity(keys.count)
        for key in keys {
            found[key] = try Int.fetchOne(statement, arguments: [key.cmid, key.productClass])
        }
        return found
    }

    /// Machines per class and last day (`machine_days`).
    static func histogram(_ db: Database) throws -> [String: [Int: Int]] {
        var histogram: [String: [Int: Int]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT class, day, machines FROM machine_days WHERE machines != 0") {
            histogram[row[0], default: [:]][row[1]] = row[2]
        }
        return histogram
    }

    /// What one transaction applied.
    struct Applied {
        var rows = 0
        var lastSeq: Int64 = 0
        var candidates: [CloneCandidate] = []
    }

    /// The newest log row the index holds (its applied marker).
    static func appliedSeq(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM applied WHERE id = 1") ?? 0
    }

    /// Applies up to `limit` log rows after the index's last one, in one transaction on the index's writer.
    static func applyChunk(index idb: Database, log: DatabasePool, limit: Int) throws -> Applied {
        var applied = Applied()
        try idb.inTransaction {
            let after = try appliedSeq(idb)
            let rows = try log.read { ldb in
                // A request row of a migrated single-file store keeps its fields as JSON, without the columns of a log
                // row: what it counted came over with that store's tables, and it is not applied again.
                var select = BoundStatement(try ldb.cachedStatement(sql: """
                    SELECT seq, \(LogRow.columns) FROM events WHERE seq > ? AND event_id = 12290 AND fields IS NULL ORDER BY seq LIMIT ?
                    """), ldb)
                select.bind(after)
                select.bind(limit)
                var rows: [LogRow] = []
                try select.forEachRow { rows.append(LogRow(columns: $0)) }
                return rows
            }
            guard let last = rows.last else { return .rollback }
            CrashPoint.indexChunkStarted.reached()
            var chunk = Chunk(db: idb)
            for (position, row) in Chunk.inKeyOrder(rows).enumerated() {
                try chunk.apply(row)
                if position + 1 == max(1, rows.count / 2) { CrashPoint.indexChunkHalfway.reached() }
            }
            try chunk.finish()
            CrashPoint.indexChunkWritten.reached()
            try idb.execute(sql: "UPDATE applied SET seq = ? WHERE id = 1", arguments: [last.seq])
            applied = Applied(rows: rows.count, lastSeq: last.seq, candidates: chunk.candidateList)
            return .commit
        }
        if applied.rows > 0 { CrashPoint.indexChunkCommitted.reached() }
        return applied
    }

    /// One transaction's work: statements, and what is summed up before it is written.
    struct Chunk {
        let db: Database
        var totals: [Int64: Int] = [:]
        var histogram: [String: [Int: Int]] = [:]
        /// Machines new to their class per day and address block.
        var newMachines: [Int: [String: Int]] = [:]
        /// Last days set in this chunk (the client rows hold them too, but this saves the look-up).
        var lastDays: [MachineKey: Int] = [:]
        var tracked: [String: Bool] = [:]
        var candidates: [String: CloneCandidate] = [:]
        /// The log row that made each CMID a candidate: the list is in log order whatever order rows are applied in.
        var candidateOrder: [(seq: Int64, cmid: String)] = []
        var logDays = LogDays.Chunk()

        init(db: Database) {
            self.db = db
        }

        /// The chunk's rows by CMID, each machine's in log order. What a row changes depends only on the earlier
        /// rows of its own CMID (its client rows, fingerprints and last days); the sums are the same in any order.
        /// In CMID order the look-ups and inserts into `clients` and `sightings` (keyed by CMID) walk their B-trees
        /// from one end to the other once per chunk, instead of touching a page at random per row. After 5 s of
        /// load at 16 connections (about 60,000 new machines, indexed as the host stops), the host's CPU after the
        /// load was 0.73× what it was in log order, and its exit took 0.79× the time (`tally bench`, 3 rounds).
        static func inKeyOrder(_ rows: [LogRow]) -> [LogRow] {
            rows.sorted { $0.cmid == $1.cmid ? $0.seq < $1.seq : $0.cmid.utf8.lexicographicallyPrecedes($1.cmid.utf8) }
        }

        mutating func apply(_ row: LogRow) throws {
            totals[Int64(row.result.rawValue), default: 0] += 1
            logDays.add(row)
            guard row.counted, let productClass = row.productClass else { return }
            let day = CountWindow.day(of: row.time)
            let key = MachineKey(cmid: row.cmid, productClass: productClass)
            // The machine's rows before this request changes them: its last day in the class, its fingerprints.
            var known: [KnownClient] = []
            var lookup = BoundStatement(try db.cachedStatement(sql: "SELECT class, last_day, fingerprint, machine FROM clients WHERE cmid = ?"), db)
            lookup.bind(row.cmid)
            try lookup.forEachRow { handle in
                known.append(KnownClient(productClass: BoundStatement.text(handle, 0), lastDay: BoundStatement.int(handle, 1),
                                         fingerprint: BoundStatement.text(handle, 2), machine: BoundStatement.text(handle, 3)))
            }
            let previous = lastDays[key] ?? known.filter { $0.productClass == productClass }.map(\.lastDay).max()
            if previous == nil { newMachines[day, default: [:]][AddressBlock(address: row.address).description, default: 0] += 1 }
            if previous.map({ day > $0 }) ?? true {
                if let previous { histogram[productClass, default: [:]][previous, default: 0] -= 1 }
                histogram[productClass, default: [:]][day, default: 0] += 1
                lastDays[key] = day
            }
            try trackFingerprint(row, day: day, known: known)
            var client = BoundStatement(try db.cachedStatement(sql: """
                INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint,
                    machine = excluded.machine, last_seen = excluded.last_seen, last_day = MAX(last_day, excluded.last_day),
                    last_result = excluded.last_result, requests = requests + 1,
                    ticket_expires = COALESCE(excluded.ticket_expires, ticket_expires), license_status = excluded.license_status
                """), db)
            client.bind(row.cmid)
            client.bind(row.sku)
            client.bind(productClass)
            client.bind(row.fingerprint)
            client.bind(row.machine)
            client.bind(row.time.timeIntervalSince1970)
            client.bind(row.time.timeIntervalSince1970)
            client.bind(day)
            client.bind(Int64(row.result.rawValue))
            client.bind(row.ticketExpires?.timeIntervalSince1970)
            client.bind(row.clientLicenseStatus)
            try client.execute()
            var sighting = BoundStatement(try db.cachedStatement(sql: "INSERT OR IGNORE INTO sightings (day, sku, cmid, class) VALUES (?, ?, ?, ?)"), db)
            sighting.bind(day)
            sighting.bind(row.sku)
            sighting.bind(row.cmid)
            sighting.bind(productClass)
            try sighting.execute()
        }

        /// A client row of the machine, as the look-up before each request reads it.
        struct KnownClient {
            var productClass: String
            var lastDay: Int
            var fingerprint: String
            var machine: String
        }

        /// A CMID with one fingerprint has no `fingerprints` rows; the first request with another starts tracking it.
        private mutating func trackFingerprint(_ row: LogRow, day: Int, known: [KnownClient]) throws {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day) VALUES (?, ?, ?, ?)
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine, last_day = MAX(last_day, excluded.last_day)
                """)
            var isTracked: Bool
            if let cached = tracked[row.cmid] {
                isTracked = cached
            } else if known.isEmpty {
                // A CMID without client rows has no fingerprint rows (they are kept only beside its client rows,
                // and deleted with them): a new machine costs no look-up here.
                tracked[row.cmid] = false
                return
            } else {
                isTracked = try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM fingerprints WHERE cmid = ? LIMIT 1"), arguments: [row.cmid]) != nil
            }
            if !isTracked {
                let others = known.filter { $0.fingerprint != row.fingerprint }
                guard !others.isEmpty else {
                    tracked[row.cmid] = false
                    return
                }
                for other in others {
                    try upsert.execute(arguments: [row.cmid, other.fingerprint, other.machine, other.lastDay])
                }
                isTracked = true
            }
            tracked[row.cmid] = isTracked
            try upsert.execute(arguments: [row.cmid, row.fingerprint, row.machine, day])
            if var candidate = candidates[row.cmid] {
                if !candidate.fingerprints.contains(row.fingerprint) { candidate.fingerprints.append(row.fingerprint) }
                if row.time > candidate.time { (candidate.time, candidate.day) = (row.time, day) }
                candidates[row.cmid] = candidate
            } else {
                candidateOrder.append((row.seq, row.cmid))
                candidates[row.cmid] = CloneCandidate(cmid: row.cmid, day: day, time: row.time, fingerprints: [row.fingerprint])
            }
        }

        /// Writes what was summed up: machines per day, request totals, the log's days.
        func finish() throws {
            let days = try db.cachedStatement(sql: """
                INSERT INTO machine_days (class, day, machines) VALUES (?, ?, ?)
                ON CONFLICT (class, day) DO UPDATE SET machines = machines + excluded.machines
                """)
            for (productClass, byDay) in histogram {
                for (day, delta) in byDay where delta != 0 { try days.execute(arguments: [productClass, day, delta]) }
            }
            try db.execute(sql: "DELETE FROM machine_days WHERE machines = 0")
            let blocks = try db.cachedStatement(sql: """
                INSERT INTO new_machines (day, block, machines) VALUES (?, ?, ?)
                ON CONFLICT (day, block) DO UPDATE SET machines = machines + excluded.machines
                """)
            for (day, byBlock) in newMachines {
                for (block, machines) in byBlock { try blocks.execute(arguments: [day, block, machines]) }
            }
            let total = try db.cachedStatement(sql: """
                INSERT INTO request_totals (result, requests) VALUES (?, ?)
                ON CONFLICT (result) DO UPDATE SET requests = requests + excluded.requests
                """)
            for (result, requests) in totals { try total.execute(arguments: [result, requests]) }
            try logDays.write(db)
        }

        var candidateList: [CloneCandidate] { candidateOrder.sorted { $0.seq < $1.seq }.compactMap { candidates[$0.cmid] } }
    }
}

extension SQLiteHostStore {
    /// Applies every log row the index lacks (start-up, `tally host` commands, before a read that needs the index).
    func catchUpNow() throws {
        while true {
            let applied: SQLiteIndexer.Applied
            do {
                applied = try index.writeWithoutTransaction { db in try SQLiteIndexer.applyChunk(index: db, log: log, limit: SQLiteIndexer.chunkRows) }
            } catch {
                throw SQLiteHostStore.storeError("bring the index up to date", error)
            }
            try finishChunk(applied)
            if applied.rows < SQLiteIndexer.chunkRows { return }
        }
    }

    public func catchUp() async throws {
        while true {
            let applied: SQLiteIndexer.Applied
            do {
                applied = try await index.writeWithoutTransaction { db in try SQLiteIndexer.applyChunk(index: db, log: self.log, limit: SQLiteIndexer.chunkRows) }
            } catch {
                throw SQLiteHostStore.storeError("bring the index up to date", error)
            }
            try finishChunk(applied)
            if applied.rows < SQLiteIndexer.chunkRows { return }
        }
    }

    /// After an index commit: the memory may forget what the index now holds; clone candidates go to detection.
    private func finishChunk(_ applied: SQLiteIndexer.Applied) throws {
        if applied.rows > 0 {
            indexed.withLock { $0 = max($0, applied.lastSeq) }
        } else {
            // Nothing left: the index holds every row (written by this process or another).
            let last = try readIndex("read the index's position") { try SQLiteIndexer.appliedSeq($0) }
            indexed.withLock { $0 = max($0, last) }
        }
        memory.withLock { $0.unindexedRows = max(0, $0.unindexedRows - applied.rows) }
        if !applied.candidates.isEmpty {
            // Bounded: a flood of clones keeps the newest, and each is reported from the store's tables anyway.
            candidates.withLock { $0 = Array(($0 + applied.candidates).suffix(10_000)) }
            candidatesArrived.signal()
        }
    }
}

extension SQLiteIndexer {
    /// Keeps the index behind the log while a host serves: a round when many rows wait (``SQLiteHostStore/indexerWakeRows``),
    /// or at a tick of `interval` as ``IndexerCadence`` says; once more on graceful shutdown, so the store is complete
    /// when the host exits.
    struct Service: ServiceLifecycle.Service {
        static let defaultInterval: Duration = .seconds(2)
        let store: SQLiteHostStore
        var interval: Duration = CrashPoint.indexInterval

        func run() async throws {
            let wake = WakeSignal()
            let cadence = LockedValue(IndexerCadence())
            await withTaskGroup(of: Void.self) { group in
                // Forwards the store's wake-ups; ends when the store closes or the group is cancelled.
                group.addTask {
                    for await _ in store.indexerWake.stream { wake.signal() }
                }
                group.addTask {
                    await cancelWhenGracefulShutdown {
                        while !Task.isCancelled {
                            let signalled = await wake.wait(timeout: interval)
                            if Task.isCancelled { break }
                            let rows = store.memory.withLock { $0.unindexedRows }
                            guard cadence.withLock({ $0.shouldRun(signalled: signalled, rows: rows) }) else { continue }
                            do {
                                try await store.catchUp()
                            } catch {
                                // A round cut short by the shutdown is no failure: the catch-up below finishes it.
                                if Task.isCancelled { break }
                                store.logger.error("the index could not be brought up to date; retrying", metadata: ["error": "\(error)"])
                            }
                        }
                    }
                }
                await group.next()
                group.cancelAll()
            }
            try await store.catchUp()
        }
    }
}
