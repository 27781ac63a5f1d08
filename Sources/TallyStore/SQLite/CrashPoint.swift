import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The steps of a store write at which a **debug** build of `tally` can be made to die, for the recovery tests:
/// with `TALLY_TEST_CRASH_AT=STEP` (or `STEP@N`: the Nth time the step is reached) the process writes
/// `crash point STEP` to stderr and SIGKILLs itself there, as a power cut or `kill -9` would stop it. In a release
/// build ``reached()`` is empty and the variables are never read, so nobody can set them on a shipped binary.
///
/// Two more variables, also read by debug builds only: `TALLY_TEST_INDEX_CHUNK_ROWS=N` makes the indexer apply at
/// most N log rows per transaction (so a test can stop it between two chunks without writing 20,000 requests), and
/// `TALLY_TEST_INDEX_INTERVAL=S` makes a serving host's indexer wait S seconds between rounds instead of 2 (so the
/// index is brought up to date only when a test asks, through a read that needs it).
package enum CrashPoint: String, CaseIterable, Sendable {
    /// A batch's log rows are committed (durable); the memory of decisions does not know them and no answer was sent.
    case logCommitted = "log-committed"
    /// The indexer read the rows it will apply and began its transaction; nothing of it is written.
    case indexChunkStarted = "index-chunk-started"
    /// Half the chunk's rows are in the clients, sightings and fingerprints tables, in the uncommitted transaction.
    case indexChunkHalfway = "index-chunk-halfway"
    /// Every row, the machines per day and the totals are written, the applied marker not yet (same transaction).
    case indexChunkWritten = "index-chunk-written"
    /// The chunk and its applied marker are committed; the memory was not told and clone candidates not handed on.
    case indexChunkCommitted = "index-chunk-committed"

    /// Dies here when the environment names this step (debug builds only).
    @inline(__always)
    func reached() {
        #if DEBUG
        CrashPoint.armed?.reach(self)
        #endif
    }

    #if DEBUG
    struct Armed: Sendable {
        let point: CrashPoint
        let occurrence: Int
        let seen = LockedValue(0)

        func reach(_ step: CrashPoint) {
            guard step == point, seen.withLock({ seen -> Bool in
                seen += 1
                return seen == occurrence
            }) else { return }
            FileHandle.standardError.write(Data("crash point \(step.rawValue)\n".utf8))
            kill(getpid(), SIGKILL)
        }
    }

    static let armed: Armed? = {
        guard let text = ProcessInfo.processInfo.environment["TALLY_TEST_CRASH_AT"] else { return nil }
        let parts = text.split(separator: "@", maxSplits: 1)
        guard let point = parts.first.flatMap({ CrashPoint(rawValue: String($0)) }) else { return nil }
        return Armed(point: point, occurrence: parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1)
    }()
    #endif

    /// How long a serving host's indexer waits between rounds: ``SQLiteIndexer/Service/defaultInterval``, or the
    /// debug override.
    static let indexInterval: Duration = {
        #if DEBUG
        if let text = ProcessInfo.processInfo.environment["TALLY_TEST_INDEX_INTERVAL"], let seconds = Int(text), seconds > 0 { return .seconds(seconds) }
        #endif
        return SQLiteIndexer.Service.defaultInterval
    }()

    /// Log rows per index transaction: ``SQLiteIndexer/defaultChunkRows``, or the debug override.
    static let chunkRows: Int = {
        #if DEBUG
        if let text = ProcessInfo.processInfo.environment["TALLY_TEST_INDEX_CHUNK_ROWS"], let rows = Int(text), rows > 0 { return rows }
        #endif
        return SQLiteIndexer.defaultChunkRows
    }()
}
