/// The commit pipeline's queue as a plain value: what waits, what is being committed, whether new requests are
/// taken. The pipeline holds it under a lock and does what its answers say; tests drive it without threads.
///
/// One batch is committed at a time; whatever arrives meanwhile waits and forms the next batch (group commit:
/// the busier the host, the larger the batches).
struct CommitQueue<Item: Sendable>: Sendable {
    private(set) var waiting: [Item] = []
    private(set) var committing = false
    private(set) var accepting = true
    /// While a paced batch waits (``CommitPacing``): wake the committer once this many items wait.
    private(set) var wakeWhenWaiting: Int?

    /// What to do with a submitted item.
    enum Submitted: Equatable {
        /// Queued; wake the committer (it was idle).
        case queuedWake
        /// Queued behind the batch being committed.
        case queued
        /// Refused: the host is stopping.
        case refused
    }

    mutating func submit(_ item: Item) -> Submitted {
        guard accepting else { return .refused }
        waiting.append(item)
        if let needed = wakeWhenWaiting, waiting.count >= needed {
            wakeWhenWaiting = nil
            return .queuedWake
        }
        return committing || waiting.count > 1 ? .queued : .queuedWake
    }

    /// A paced batch waits for `needed` more items at most: whether they already wait; if not, the submit that
    /// brings the count to `needed` answers `queuedWake`, once.
    mutating func wake(whenWaiting needed: Int) -> Bool {
        if waiting.count >= needed { return true }
        wakeWhenWaiting = needed
        return false
    }

    /// The paced wait is over.
    mutating func stopWaking() { wakeWhenWaiting = nil }

    /// The next batch, at most `maxBatch` items in arrival order, or `nil` when nothing waits. The queue is then
    /// committing until ``finishedBatch()``.
    mutating func takeBatch(maxBatch: Int) -> [Item]? {
        guard !waiting.isEmpty else {
            committing = false
            return nil
        }
        let count = min(max(1, maxBatch), waiting.count)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        committing = true
        return batch
    }

    /// More items for a batch that waited to fill (`group-commit-max-wait-us`).
    mutating func takeMore(upTo count: Int) -> [Item] {
        let taken = Array(waiting.prefix(max(0, count)))
        waiting.removeFirst(taken.count)
        return taken
    }

    mutating func finishedBatch() { committing = false }

    /// Stops taking new items; those waiting are still committed.
    mutating func stopAccepting() { accepting = false }

    /// Stopped and nothing left to commit.
    var drained: Bool { !accepting && waiting.isEmpty && !committing }
}
