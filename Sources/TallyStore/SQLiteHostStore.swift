import Foundation
import GRDB
import TallyCore

/// The host's store in SQLite through GRDB: WAL, `synchronous=FULL` (read back at start), numbered migrations.
public final class SQLiteHostStore: HostStore {
    public let path: String
    let pool: DatabasePool
    /// The background checkpointer of a serving host, if started.
    let checkpointer = LockedValue<WALCheckpointer?>(nil)

    /// Opens (creating or migrating) the store at `path`.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = "tally-host"
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets synchronous=NORMAL on its writer after prepareDatabase: set FULL afterwards and check it.
            let synchronous = try pool.writeWithoutTransaction { db -> Int in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            }
            guard synchronous == 2 else {
                throw TallyError(.storeUnavailable, "PRAGMA synchronous reads \(synchronous), not 2 (FULL)")
            }
            try SQLiteHostStore.migrator.migrate(pool)
        } catch let error as TallyError {
            throw error
        } catch {
            throw SQLiteHostStore.storeError("open the store at \(path)", error)
        }
    }

    /// `PRAGMA synchronous` on the writer connection (2 means FULL).
    public func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Caps the file at `pages` pages (`PRAGMA max_page_count`), to test a full disk; `nil` lifts the cap.
    package func setMaxPageCount(_ pages: Int?) throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA max_page_count = \(pages ?? 1_073_741_823)")
        }
    }

    /// The store's size in pages.
    package func pageCount() throws -> Int {
        try pool.read { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
    }

    /// Makes the writer refuse writes (`PRAGMA query_only`), to test a store that cannot be written while
    /// running as root, where file modes prove nothing.
    package func setQueryOnly(_ on: Bool) throws {
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = \(on ? 1 : 0)") }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-clients-sightings-events") { db in
            try db.execute(sql: """
                CREATE TABLE clients (
                    cmid TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, fingerprint TEXT NOT NULL,
                    machine TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,
                    last_result INTEGER NOT NULL, requests INTEGER NOT NULL, ticket_expires REAL,
                    license_status TEXT NOT NULL,
                    PRIMARY KEY (cmid, sku)) WITHOUT ROWID;
                CREATE TABLE sightings (
                    cmid TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, sku, day)) WITHOUT ROWID;
                CREATE INDEX sightings_by_day ON sightings (day, class);
                CREATE TABLE fingerprints (
                    cmid TEXT NOT NULL, fingerprint TEXT NOT NULL, machine TEXT NOT NULL, last_day INTEGER NOT NULL,
                    PRIMARY KEY (cmid, fingerprint)) WITHOUT ROWID;
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id INTEGER NOT NULL, time REAL NOT NULL,
                    result INTEGER, fields TEXT NOT NULL);
                CREATE INDEX events_by_time ON events (time);
                CREATE TABLE request_totals (result INTEGER PRIMARY KEY, requests INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("2-clone-reports", migrate: SQLiteHostStore.createCloneReports)
        migrator.registerMigration("3-clone-report-days", migrate: SQLiteHostStore.createCloneReportDays)
        return migrator
    }

    public func loadCounts(now: Date) throws -> ClassCounts {
        let firstDay = CountWindow.day(of: now) - Intervals.countWindowDays + 1
        return try read("load the count") { db in
            var counts = ClassCounts()
            let rows = try Row.fetchCursor(db, sql: "SELECT cmid, class, MAX(day) FROM sightings WHERE day >= ? GROUP BY cmid, class", arguments: [firstDay])
            while let row = try rows.next() {
                counts.record(row[0], class: row[1], day: row[2])
            }
            return counts
        }
    }

    public func commit(_ batch: [ActivationRecord]) throws {
        guard !batch.isEmpty else { return }
        do {
            try pool.write { db in
                let client = try db.cachedStatement(sql: """
                    INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_result, requests, ticket_expires, license_status)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                    ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint,
                        machine = excluded.machine, last_seen = excluded.last_seen, last_result = excluded.last_result,
                        requests = requests + 1, ticket_expires = COALESCE(excluded.ticket_expires, ticket_expires),
                        license_status = excluded.license_status
                    """)
                let sighting = try db.cachedStatement(sql: "INSERT OR IGNORE INTO sightings (cmid, sku, class, day) VALUES (?, ?, ?, ?)")
                let fingerprint = try db.cachedStatement(sql: """
                    INSERT INTO fingerprints (cmid, fingerprint, machine, last_day) VALUES (?, ?, ?, ?)
                    ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine, last_day = MAX(last_day, excluded.last_day)
                    """)
                let total = try db.cachedStatement(sql: """
                    INSERT INTO request_totals (result, requests) VALUES (?, ?)
                    ON CONFLICT (result) DO UPDATE SET requests = requests + excluded.requests
                    """)
                var totals: [Int64: Int] = [:]
                for record in batch {
                    let day = CountWindow.day(of: record.time)
                    let time = record.time.timeIntervalSince1970
                    if record.counted, let productClass = record.productClass {
                        try client.execute(arguments: [record.cmid, record.sku, productClass, record.fingerprint, record.machine, time, time,
                                                       Int64(record.result.rawValue), record.ticketExpires?.timeIntervalSince1970, record.licenseStatus])
                        try sighting.execute(arguments: [record.cmid, record.sku, productClass, day])
                        try fingerprint.execute(arguments: [record.cmid, record.fingerprint, record.machine, day])
                    }
                    totals[Int64(record.result.rawValue), default: 0] += 1
                    try insert(record.event, db)
                }
                // One row per result, not per request.
                for (result, requests) in totals { try total.execute(arguments: [result, requests]) }
            }
        } catch {
            throw SQLiteHostStore.storeError("commit \(batch.count) activation(s)", error)
        }
    }

    public func append(_ events: [TallyEvent]) throws {
        do {
            try pool.write { db in
                for event in events { try insert(event, db) }
            }
        } catch {
            throw SQLiteHostStore.storeError("store \(events.count) event(s)", error)
        }
    }

    /// Appends one event in the caller's transaction.
    func insert(_ event: TallyEvent, _ db: Database) throws {
        let fields = String(decoding: JSONObjectWriter.object(event.fields), as: UTF8.self)
        try db.cachedStatement(sql: "INSERT INTO events (event_id, time, result, fields) VALUES (?, ?, ?, ?)")
            .execute(arguments: [event.id.rawValue, event.time.timeIntervalSince1970, event.result.map { Int64($0.rawValue) }, fields])
    }

    public func totals() throws -> [TallyCore.ResultCode: Int] {
        try read("read the request totals") { db in
            var totals: [TallyCore.ResultCode: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT result, requests FROM request_totals") {
                totals[TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[0] as Int64))] = row[1]
            }
            return totals
        }
    }

    public func clients(_ query: ClientQuery) throws -> [ClientRecord] {
        try read("list clients") { db in
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

    public func events(since: Date?, afterSeq: Int64?, id: EventID?, limit: Int) throws -> [StoredEvent] {
        try read("read events") { db in
            var sql = "SELECT seq, event_id, time, result, fields FROM events WHERE 1"
            var arguments: StatementArguments = []
            if let since { sql += " AND time >= ?"; arguments += [since.timeIntervalSince1970] }
            if let afterSeq { sql += " AND seq > ?"; arguments += [afterSeq] }
            if let id { sql += " AND event_id = ?"; arguments += [id.rawValue] }
            sql += " ORDER BY seq LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                guard let eventID = EventID(rawValue: row[1]) else { return nil }
                let fields = (try? JSONDecoder().decode([String: String].self, from: Data((row[4] as String).utf8))) ?? [:]
                let event = TallyEvent(id: eventID, time: Date(timeIntervalSince1970: row[2]),
                                       result: (row[3] as Int64?).map { TallyCore.ResultCode(UInt32(truncatingIfNeeded: $0)) }, fields: fields)
                return StoredEvent(seq: row[0], event: event)
            }
        }
    }

    private func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw SQLiteHostStore.storeError(what, error)
        }
    }

    static func storeError(_ action: String, _ error: any Error) -> TallyError {
        if let error = error as? TallyError { return error }
        var remedy: String?
        if let dbError = error as? DatabaseError {
            switch dbError.resultCode {
            case .SQLITE_FULL: remedy = "The disk (or the store's size limit) is full: free space; the host recovers by itself."
            case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM: remedy = "The store cannot be written: check the file, its directory and the user the host runs as."
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: remedy = "The store is corrupt: restore it from a backup (`tally host backup`)."
            default: break
            }
        }
        return TallyError(.storeUnavailable, "could not \(action): \(error)", remedy: remedy)
    }
}

