import Foundation
import GRDB

/// Holds the write lock of a SQLite file from outside the process that owns it (`BEGIN IMMEDIATE` on a connection
/// of its own), so that process's commits wait on a real lock, as on a disk that has stalled, until ``release()``.
/// The owner's busy timeout bounds the wait: release before it.
public final class SQLiteWriteLock: @unchecked Sendable {
    // @unchecked: the queue is used from one test thread at a time (taken, then released).
    private let queue: DatabaseQueue

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // The transaction outlives the access that began it: that is the point.
        configuration.allowsUnsafeTransactions = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
    }

    /// Ends the transaction (it wrote nothing) and closes the connection.
    public func release() throws {
        try queue.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
        try queue.close()
    }
}
