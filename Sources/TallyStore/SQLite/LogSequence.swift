import GRDB

/// The log's sequence numbers (`events.seq`) only go up, even after retention deleted the newest rows.
///
/// `seq` is the row id without AUTOINCREMENT (whose counter row every commit would rewrite), so SQLite would give
/// a new row the largest remaining `seq` plus one: once retention deleted every row, the next request would be
/// numbered 1 again, at or below the index's applied marker, and the indexer would never apply it (its machine
/// counted again after a restart). `seq_floor` holds the largest `seq` ever written: retention raises it before it
/// deletes, opening the store raises it to the index's marker, and every insert numbers its rows explicitly from
/// above both (one point look-up per transaction, not per row).
enum LogSequence {
    /// The `seq` for the first row a transaction inserts; the next ones count up from it.
    static func next(_ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0), COALESCE((SELECT seq FROM seq_floor WHERE id = 1), 0)) + 1
            """)
        return try Int64.fetchOne(statement) ?? 1
    }

    /// Before retention deletes: the floor holds the largest `seq` the log has had.
    static func holdBeforeDeleting(_ db: Database) throws {
        try db.execute(sql: "UPDATE seq_floor SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM events), 0)) WHERE id = 1")
    }

    /// At open: the log is numbered on above what the index has applied, also when it already lost its newest
    /// rows (to a Tally before this floor). Writes only when the floor is below the marker.
    static func keepAbove(index: DatabasePool, log: DatabasePool) throws {
        let marker = try index.read { try SQLiteIndexer.appliedSeq($0) }
        guard try log.read({ try next($0) }) <= marker else { return }
        try log.write { db in
            try db.execute(sql: "UPDATE seq_floor SET seq = MAX(seq, ?) WHERE id = 1", arguments: [marker])
        }
    }
}
