import Foundation
import GRDB

/// Copies the write-ahead log into the database file from a thread of its own, so that a commit never does it.
///
/// SQLite checkpoints inside the COMMIT that pushes the WAL past 1,000 pages: one commit in forty then pays
/// for copying and syncing a thousand pages, and every activation in that batch waits for it. A serving host
/// turns that off on its writer and checkpoints here, PASSIVE (it never blocks the writer), a few times a second.
final class WALCheckpointer: @unchecked Sendable {
    /// 16,384 frames: a WAL of about 64 MiB.
    static let restartFrames = 16_384
    private let queue: DatabaseQueue
    private let interval: TimeInterval
    private let condition = NSCondition()
    private var running = true
    private var finished = false

    init(path: String, interval: TimeInterval) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        configuration.label = "tally-checkpoint"
        queue = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
        let thread = Thread { [self] in loop() }
        thread.name = "tally-wal-checkpoint"
        thread.start()
    }

    private func loop() {
        condition.lock()
        while running {
            condition.unlock()
            // A failed checkpoint is retried at the next round; the WAL only grows meanwhile.
            _ = try? queue.writeWithoutTransaction { db in
                // PASSIVE copies what it can without waiting. The WAL starts over only when a checkpoint caught up
                // with the writer, which a steady stream of commits never lets PASSIVE do: past `restartFrames`,
                // RESTART waits for the writer's current commit and finishes the (by then small) rest.
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
                let logFrames: Int = row?[1] ?? 0
                if logFrames >= WALCheckpointer.restartFrames {
                    try db.execute(sql: "PRAGMA wal_checkpoint(RESTART)")
                }
            }
            condition.lock()
            if running { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        running = false
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

extension SQLiteHostStore {
    /// Moves checkpointing off the commit path (a serving host): the writer stops checkpointing and a background
    /// thread checkpoints every `interval`. ``stopBackgroundCheckpoints()`` restores the default.
    public func startBackgroundCheckpoints(interval: TimeInterval = 0.25) throws {
        guard checkpointer.withLock({ $0 == nil }) else { return }
        let worker = try WALCheckpointer(path: path, interval: interval)
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        checkpointer.withLock { $0 = worker }
    }

    /// `PRAGMA wal_autocheckpoint` of the writer: 0 while a background checkpointer runs.
    public func autocheckpointPages() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") ?? -1 }
    }

    public func stopBackgroundCheckpoints() {
        guard let worker = checkpointer.withLock({ value -> WALCheckpointer? in
            defer { value = nil }
            return value
        }) else { return }
        worker.stop()
        try? pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 1000") }
    }
}

/// A value behind a lock (the store keeps its checkpointer in one).
final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
