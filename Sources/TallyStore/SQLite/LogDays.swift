import Foundation
import GRDB
import TallyCore

/// What the log's time index answered, from the index instead: the log has no index on the time of its request
/// rows (every commit would write that index's last page too).
///
/// `log_days` holds, per day of a request row's time, its first and last `seq`; `results_by_day` the requests per
/// day and result. The indexer keeps both with the rest of the index. So the request rows from a time on are the
/// rows from the first `seq` of the days from then on (or after the index's marker, for rows it does not hold
/// yet), and those before a time are within the last `seq` of the days up to it: bounds of `seq`, the row id,
/// then filtered by time, exact also when the clock went back. Other events keep a small time index of their own.
enum LogDays {
    /// Sums a chunk's request rows into the two tables (in the indexer's transaction).
    struct Chunk {
        var seqs: [Int: (first: Int64, last: Int64)] = [:]
        var results: [Int: [Int64: Int]] = [:]

        mutating func add(_ row: LogRow) {
            let day = CountWindow.day(of: row.time)
            let known = seqs[day]
            seqs[day] = (min(known?.first ?? row.seq, row.seq), max(known?.last ?? row.seq, row.seq))
            results[day, default: [:]][Int64(row.result.rawValue), default: 0] += 1
        }

        func write(_ db: Database) throws {
            let days = try db.cachedStatement(sql: """
                INSERT INTO log_days (day, first_seq, last_seq) VALUES (?, ?, ?)
                ON CONFLICT (day) DO UPDATE SET first_seq = MIN(first_seq, excluded.first_seq), last_seq = MAX(last_seq, excluded.last_seq)
                """)
            for (day, range) in seqs { try days.execute(arguments: [day, range.first, range.last]) }
            let counts = try db.cachedStatement(sql: """
                INSERT INTO results_by_day (day, result, requests) VALUES (?, ?, ?)
                ON CONFLICT (day, result) DO UPDATE SET requests = requests + excluded.requests
                """)
            for (day, byResult) in results {
                for (result, requests) in byResult { try counts.execute(arguments: [day, result, requests]) }
            }
        }
    }

    /// The lowest `seq` a request row with a time from `since` on can have: the first of the days from then on, or
    /// the first row the index does not hold yet.
    static func firstSeq(since: Date, _ db: Database) throws -> Int64 {
        let first = try Int64.fetchOne(db, sql: "SELECT MIN(first_seq) FROM log_days WHERE day >= ?", arguments: [CountWindow.day(of: since)])
        return min(first ?? .max, try SQLiteIndexer.appliedSeq(db) + 1)
    }

    /// The highest `seq` a request row with a time before `cutoff` can have (among those the index holds).
    static func lastSeq(before cutoff: Date, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT MAX(last_seq) FROM log_days WHERE day <= ?", arguments: [CountWindow.day(of: cutoff)]) ?? 0
    }

    /// Once, at the first open after index migration 3: both tables from the request rows the index holds (rows
    /// after its marker are added by the indexer as usual). One transaction of the index's, read from the log.
    static func fillIfPending(log: DatabasePool, index: DatabasePool, indexPath: String) throws {
        let pending = try index.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM log_days_pending") ?? 0 }
        guard pending > 0 else { return }
        try log.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS idx", arguments: [indexPath])
            defer { try? db.execute(sql: "DETACH DATABASE idx") }
            try db.inTransaction {
                try db.execute(sql: """
                    INSERT INTO idx.log_days (day, first_seq, last_seq)
                        SELECT CAST(time / 86400 AS INTEGER), MIN(seq), MAX(seq) FROM main.events
                        WHERE event_id = 12290 AND seq <= (SELECT seq FROM idx.applied WHERE id = 1) GROUP BY 1;
                    INSERT INTO idx.results_by_day (day, result, requests)
                        SELECT CAST(time / 86400 AS INTEGER), result, COUNT(*) FROM main.events
                        WHERE event_id = 12290 AND result IS NOT NULL AND seq <= (SELECT seq FROM idx.applied WHERE id = 1) GROUP BY 1, 2;
                    DELETE FROM idx.log_days_pending;
                    """)
                return .commit
            }
        }
    }
}
