import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Copies the write-ahead logs into the database files from a service of its own, so that a commit never does it.
///
/// SQLite checkpoints inside the COMMIT that pushes a WAL past 1,000 pages: one commit in forty would then pay
/// for copying and syncing a thousand pages, and every activation in that batch would wait for it. A serving
/// host turns that off on both writers and checkpoints here, PASSIVE (it never blocks a writer), a few times a
/// second; past ``restartFrames`` a RESTART lets the log start over from its beginning.
struct SQLiteCheckpointService: Service {
    /// 16,384 frames: a WAL of about 64 MiB.
    static let restartFrames = 16_384
    let store: SQLiteHostStore
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        configuration.label = "tally-checkpoint"
        let queues = try [store.path, store.indexPath].map { try DatabaseQueue(path: $0, configuration: configuration) }
        try await store.log.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        try await store.index.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for queue in queues { await SQLiteCheckpointService.checkpoint(queue) }
                try? await Task.sleep(for: interval)
            }
        }
        // What is left is copied back before the host exits, and the log's WAL is emptied: the next start lays it
        // out again (``WALPreallocation``).
        for queue in queues { await SQLiteCheckpointService.checkpoint(queue) }
        _ = try? await queues[0].writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try? await store.log.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 1000") }
        try? await store.index.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 1000") }
        for queue in queues { try? queue.close() }
    }

    /// One round; a failed checkpoint is retried at the next one (the WAL only grows meanwhile).
    static func checkpoint(_ queue: DatabaseQueue) async {
        _ = try? await queue.writeWithoutTransaction { db in
            // PASSIVE copies what it can without waiting. The WAL starts over only when a checkpoint caught up with
            // the writer, which a steady stream of commits never lets PASSIVE do: past `restartFrames`, RESTART
            // waits for the writer's current commit and finishes the (by then small) rest.
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            let logFrames: Int = row?[1] ?? 0
            if logFrames >= SQLiteCheckpointService.restartFrames {
                try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)")
            }
        }
    }
}

extension SQLiteHostStore {
    /// `PRAGMA wal_autocheckpoint` of the log's writer: 0 while the checkpoint service runs.
    public func autocheckpointPages() throws -> Int {
        try log.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") ?? -1 }
    }
}
