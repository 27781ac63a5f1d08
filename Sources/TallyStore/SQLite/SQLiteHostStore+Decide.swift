import Foundation
import GRDB
import TallyCore

/// The activation path: decide a batch in order, append one log row per request, commit once (synchronous=FULL),
/// and only then let the memory of decisions know.
extension SQLiteHostStore {
    /// Rows written after which the indexer is woken before its timer (their decisions, about 130 bytes each, wait
    /// in the memory until then).
    static let indexerWakeRows = 65_536

    public func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision] {
        guard !batch.isEmpty else { return [] }
        return try commitOnCallingThread(batch, context: context, now: now)
    }

    /// The commit, on the caller's thread: GRDB's synchronous write runs the transaction on the thread that asks
    /// when the writer is free (the host's committer has a thread of its own, see `CommitPipeline`), where its
    /// `async` form would hop to the writer's queue and back, two thread wake-ups per batch.
    private func commitOnCallingThread(_ batch: [ActivationInput], context: DecisionContext, now: Date) throws -> [StoredDecision] {
        do {
            return try log.writeWithoutTransaction { db in try self.decideAndCommit(batch, context: context, now: now, db) }
        } catch {
            throw SQLiteHostStore.storeError("commit \(batch.count) activation(s)", error)
        }
    }

    /// Runs on the log's writer, one batch at a time.
    private func decideAndCommit(_ batch: [ActivationInput], context: DecisionContext, now: Date, _ db: Database) throws -> [StoredDecision] {
        let decided = try decideInMemory(batch, context: context, now: now)
        var seqs: [Int64] = []
        seqs.reserveCapacity(batch.count)
        try db.inTransaction {
            let statement = try LogRow.insertStatement(db)
            var seq = try LogSequence.next(db)
            for (input, decision) in zip(batch, decided.decisions) {
                try LogRow(input: input, decision: decision, time: now).insert(statement, seq: seq, db)
                seqs.append(seq)
                seq += 1
            }
            for report in decided.changes.budgetReports {
                try SQLiteHostStore.insert(NewMachineBudgetEvent.event(block: report.block, admitted: report.admitted,
                                                                     budget: context.policy.newMachineBudget, cmid: batch[report.position].request.cmid,
                                                                     time: now), seq: seq, db)
                seq += 1
            }
            return .commit
        }
        CrashPoint.logCommitted.reached()
        // Committed: now the memory may know.
        let wake = memory.withLock { memory -> Bool in
            memory.merge(local: decided.changes.local, deltas: decided.changes.deltas, newMachines: decided.changes.newMachines, seqs: seqs)
            return memory.unindexedRows >= SQLiteHostStore.indexerWakeRows
        }
        if wake { indexerWake.continuation.yield() }
        return zip(decided.decisions, seqs).map { StoredDecision(decision: $0, time: now, seq: $1) }
    }

    /// What a decided batch changes, to merge into the memory once it is committed. It holds nothing of the
    /// snapshot the batch was decided against: were the snapshot's dictionaries still referenced at the merge,
    /// the merge would copy the memory's (every pending machine) once per batch instead of changing it in place.
    struct BatchChanges {
        var local: [MachineKey: (day: Int, position: Int)]
        var deltas: [String: [Int: Int]]
        var newMachines: NewMachineLedger
        /// Blocks refused for the first time today: the refused request's position and the block's admitted count.
        var budgetReports: [(block: AddressBlock, day: Int, position: Int, admitted: Int)]
    }

    /// Decides the batch against a snapshot of the memory, changing nothing: returns the decisions and the
    /// changes to merge once they are committed. (The snapshot is gone when this returns, so the merge changes
    /// the memory's dictionaries in place instead of copying them.)
    private func decideInMemory(_ batch: [ActivationInput], context: DecisionContext, now: Date) throws
        -> (decisions: [ActivationDecision], changes: BatchChanges) {
        let indexedUpTo = indexed.withLock { $0 }
        let today = CountWindow.day(of: now)
        if memory.withLock({ $0.newMachines.day < today }) {
            // The first batch of a day (or since the start): the day's budget so far, from the tables.
            let loaded = try loadNewMachines(day: today)
            memory.withLock { memory in if memory.newMachines.day < today { memory.newMachines = loaded } }
        }
        let snapshot = memory.withLock { memory -> (histogram: [String: [Int: Int]], pending: [MachineKey: (day: Int, seq: Int64)], newMachines: NewMachineLedger) in
            memory.prune(indexedUpTo: indexedUpTo)
            return (memory.histogram, memory.pending, memory.newMachines)
        }
        // Machines the memory does not hold are looked up in the index, whose reads start after `indexedUpTo` was
        // read: each holds at least everything that was pruned. Each look-up is one statement, so they need no
        // transaction around them (`unsafeRead`: no BEGIN and COMMIT per batch).
        var missing: Set<MachineKey> = []
        if let certificate = context.certificate {
            for input in batch {
                guard let productClass = certificate.productClass(of: input.request.sku) else { continue }
                let key = MachineKey(cmid: input.request.cmid, productClass: productClass)
                if snapshot.pending[key] == nil { missing.insert(key) }
            }
        }
        let looked = missing.isEmpty ? [:] : try index.unsafeRead { db in try SQLiteIndexer.lastDays(of: missing, db) }
        var counts = BatchCounts(histogram: snapshot.histogram, pending: snapshot.pending, looked: looked, newMachines: snapshot.newMachines,
                                 today: today)
        var decisions: [ActivationDecision] = []
        decisions.reserveCapacity(batch.count)
        for (position, input) in batch.enumerated() {
            counts.position = position
            decisions.append(context.policy.decide(input.request, certificate: context.certificate, intervals: context.intervals,
                                                   counts: &counts, now: now, from: AddressBlock(address: input.address)))
        }
        let reports = counts.budgetReports.map { ($0.block, $0.day, $0.position, counts.admitted($0.block, day: $0.day)) }
        return (decisions, BatchChanges(local: counts.local, deltas: counts.deltas, newMachines: counts.newMachines, budgetReports: reports))
    }

    public func counts(now: Date) async throws -> [String: Int] {
        memory.withLock { $0.counts(today: CountWindow.day(of: now)) }
    }
}
