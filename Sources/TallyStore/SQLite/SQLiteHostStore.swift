import Foundation
import GRDB
import Logging
import ServiceLifecycle
import TallyCore

/// The host's store in SQLite (GRDB): two files in the state directory.
///
/// - `host.sqlite`, **the log**: one append-only row per request (its 12290 event, with every field the other
///   tables are made from), the other events, and what was reported of cloned images. A decision is answered only
///   once its row is committed with `synchronous=FULL` (read back at start): that commit is the only synchronous
///   write of an activation, and it appends to the end of two B-trees (the rows and their time index).
/// - `host-index.sqlite`, **the index**: clients, sightings, the fingerprints of cloned images, machines per class
///   and last day, and request totals, all derived from the log, in large transactions behind it, by
///   ``SQLiteIndexer``. It records the last log row it holds, so after a crash (at any step) the rows after it are
///   applied again at the next start; nothing in it is needed to answer a request that the log and the memory of
///   the serving host do not hold.
///
/// The decision needs, per request, the last day its CMID was counted in its class and the count of the class.
/// The count is a sum over 30 days of machines per last day (a small histogram kept in memory and in the index's
/// `machine_days`); the last day comes from decisions not yet in the index (kept in memory until the indexer
/// has them) or from one point look-up in the index. Start-up reads the histogram and applies the rows the index
/// lacks: it never reads one row per known client.
public final class SQLiteHostStore: HostStore {
    /// The log (`host.sqlite`).
    public let path: String
    /// The index (`host-index.sqlite`).
    public let indexPath: String
    let log: DatabasePool
    let index: DatabasePool
    let logger: Logger
    /// The decisions' memory: histogram and the decisions the index does not hold yet.
    let memory: LockedValue<DecisionMemory>
    /// The newest log row the index holds (set by the indexer after each commit).
    let indexed: LockedValue<Int64>
    /// Clone candidates the indexer found, until clone detection takes them.
    let candidates = LockedValue<[CloneCandidate]>([])
    let candidatesArrived = AsyncSignal()
    /// Wakes the indexer when enough rows wait for it.
    let indexerWake: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)

    /// The index's file next to the log's.
    public static func indexPath(forLog path: String) -> String {
        path.hasSuffix(".sqlite") ? String(path.dropLast(".sqlite".count)) + "-index.sqlite" : path + "-index"
    }

    /// Opens (creating or migrating) the store whose log is at `path`, and brings its index up to date.
    public init(path: String, logger: Logger = Logger(label: "tally.store")) throws {
        self.path = path
        let indexPath = SQLiteHostStore.indexPath(forLog: path)
        self.indexPath = indexPath
        self.logger = logger
        indexerWake = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        do {
            log = try SQLiteHostStore.open(path, label: "tally-log", synchronous: 2)
            try SQLiteSchema.prepare(log: log, indexPath: indexPath, logger: logger)
            // The index is made from the log: NORMAL is enough (a lost commit is made again from the log).
            index = try SQLiteHostStore.open(indexPath, label: "tally-index", synchronous: 1)
            try SQLiteSchema.migrateIndex(index, path: indexPath)
            try LogSequence.keepAbove(index: index, log: log)
            try LogDays.fillIfPending(log: log, index: index, indexPath: indexPath)
        } catch let error as TallyError {
            throw error
        } catch {
            throw SQLiteHostStore.storeError("open the store at \(path)", error)
        }
        memory = LockedValue(DecisionMemory())
        indexed = LockedValue(0)
        try catchUpNow()
        let histogram = try readIndex("read the machines per day") { db in try SQLiteIndexer.histogram(db) }
        memory.withLock { $0.histogram = histogram }
    }

    /// Opens one file with WAL and the asked `synchronous` (2 FULL, 1 NORMAL), set after GRDB's own setup and read back.
    static func open(_ path: String, label: String, synchronous: Int) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.label = label
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB sets synchronous=NORMAL on its writer after prepareDatabase: set ours afterwards and check it.
        let mode = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard mode == synchronous else {
            throw TallyError(.storeUnavailable, "PRAGMA synchronous of \(path) reads \(mode), not \(synchronous)")
        }
        return pool
    }

    /// `PRAGMA synchronous` on the log's writer connection (2 means FULL).
    public func synchronousMode() throws -> Int {
        try log.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Caps the log at `pages` pages (`PRAGMA max_page_count`), to test a full disk; `nil` lifts the cap.
    package func setMaxPageCount(_ pages: Int?) throws {
        try log.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA max_page_count = \(pages ?? 1_073_741_823)")
        }
    }

    /// The log's size in pages.
    package func pageCount() throws -> Int {
        try log.read { try Int.fetchOne($0, sql: "PRAGMA page_count") ?? 0 }
    }

    /// Makes the log's writer refuse writes (`PRAGMA query_only`), to test a store that cannot be written while
    /// running as root, where file modes prove nothing.
    package func setQueryOnly(_ on: Bool) throws {
        try log.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = \(on ? 1 : 0)") }
    }

    /// The host is about to serve: the log's WAL is laid out to a checkpoint cycle's size (``WALPreallocation``).
    /// A WAL that cannot be extended (a full disk) only costs speed: a warning, and the host serves.
    public func serving(at address: String) async throws {
        let started = ContinuousClock.now
        do {
            if case .extended(let from, let to) = try WALPreallocation.extend(log, path: path) {
                logger.info("laid out the log's write-ahead log", metadata: ["from": "\(from)", "bytes": "\(to)",
                                                                            "duration": "\(started.duration(to: .now))"])
            }
        } catch {
            logger.warning("could not lay out the log's write-ahead log; commits extend it as they go", metadata: ["error": "\(error)"])
        }
    }

    public func services() -> [any Service] {
        [SQLiteIndexer.Service(store: self), SQLiteCheckpointService(store: self)]
    }

    public func takeCloneCandidates() -> [CloneCandidate] {
        candidates.withLock { candidates in
            defer { candidates = [] }
            return candidates
        }
    }

    public func cloneCandidatesArrive() async { await candidatesArrived.wait() }

    public func close() async throws {
        try await catchUp()
        indexerWake.continuation.finish()
        try log.close()
        try index.close()
    }

    func readLog<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try log.read(body)
        } catch {
            throw SQLiteHostStore.storeError(what, error)
        }
    }

    func readIndex<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try index.read(body)
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

/// A value behind a lock.
final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: every access to `value` goes through `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
