/// The commit pipeline's queue as a plain value: what waits, what is being committed, whether new requests are
/// taken. The pipeline holds it under a lock and does what its answers say; tests drive it without threads.
///
/// One batch is committed at a time; whatever arrives meanwhile waits and forms the next batch (group commit:
/// the busier the host, the larger the batches). While the host answers one request at a time, a request that
/// finds nothing committed and nothing waiting may be committed by its caller, on the caller's own thread
/// (``takeAlone(now:)``): it then needs no hand-off to the committer and back.
struct CommitQueue<Item: Sendable>: Sendable {
    /// A commit slower than this sends the next requests to the committer (``takeAlone(now:)``) until one is
    /// faster again: a caller's thread (an event loop, which serves other connections too) waits for at most one
    /// slow commit.
    static var slowCommit: Duration { .milliseconds(2) }
    let slowCommit: Duration

    init(slowCommit: Duration = Self.slowCommit) {
        self.slowCommit = slowCommit
    }

    private(set) var waiting: [Item] = []
    /// Who commits now, if anyone.
    private(set) var owner: Owner?
    var committing: Bool { owner != nil }
    private(set) var accepting = true
    /// While a paced batch waits (``CommitPacing``): wake the committer once this many items wait.
    private(set) var wakeWhenWaiting: Int?
    /// When the committer starts its next batch; a caller's commit counts as one.
    private(set) var pacing = CommitPacing()
    /// The last commit held one request, nothing waited when it ended, and it took at most ``slowCommit``.
    /// Only then may a caller commit alone: under load (requests arriving during a commit) a caller committing
    /// one request would hold up the batch the others form, and the requests of its event loop's other
    /// connections would wait unread (measured: ×16 keep-alive fell to 0.43–0.77× the rate).
    private(set) var answeringOneAtATime = true

    enum Owner: Equatable {
        case committer
        /// The caller of ``takeAlone(now:)``.
        case caller
    }

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

    /// Whether the caller may commit its request alone, on its own thread, instead of submitting it: nothing is
    /// being committed or waits (a paced batch is the committer's), the host takes requests and answers one at a time
    /// (``answeringOneAtATime``).
    /// Then the queue is the caller's until ``finishedAlone(took:)``; what arrives meanwhile waits (``submit(_:)``
    /// answers `queued`) and the committer does not take it.
    mutating func takeAlone(now: ContinuousClock.Instant) -> Bool {
        guard accepting, owner == nil, waiting.isEmpty, answeringOneAtATime else { return false }
        owner = .caller
        pacing.started(at: now)
        return true
    }

    /// The caller's commit is done: whether the committer must be woken (requests waited meanwhile, or the host
    /// is stopping and the committer waits to see the queue drained).
    mutating func finishedAlone(took: Duration) -> Bool {
        owner = nil
        answeringOneAtATime = waiting.isEmpty && took <= slowCommit
        if waiting.isEmpty { pacing.wentIdle() }
        return !waiting.isEmpty || !accepting
    }

    /// A batch of the committer starts now.
    mutating func started(at now: ContinuousClock.Instant) { pacing.started(at: now) }

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
    /// committing until ``finishedBatch(count:took:)``.
    mutating func takeBatch(maxBatch: Int) -> [Item]? {
        // The caller wakes the committer when it is done (``finishedAlone(took:)``).
        if owner == .caller { return nil }
        guard !waiting.isEmpty else {
            owner = nil
            pacing.wentIdle()
            return nil
        }
        let count = min(max(1, maxBatch), waiting.count)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        owner = .committer
        return batch
    }

    /// More items for a batch that waited to fill (`group-commit-max-wait-us`).
    mutating func takeMore(upTo count: Int) -> [Item] {
        let taken = Array(waiting.prefix(max(0, count)))
        waiting.removeFirst(taken.count)
        return taken
    }

    mutating func finishedBatch(count: Int, took: Duration) {
        owner = nil
        answeringOneAtATime = count == 1 && waiting.isEmpty && took <= slowCommit
    }

    /// Stops taking new items; those waiting are still committed.
    mutating func stopAccepting() { accepting = false }

    /// Stopped and nothing left to commit.
    var drained: Bool { !accepting && waiting.isEmpty && !committing }
}
