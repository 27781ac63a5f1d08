/// When the committer starts its next commit, as a value: the pipeline gives it the clock's readings, tests give
/// it instants.
///
/// Group commit alone flushes the disk as often as it can: what arrived while one commit ran is the next batch,
/// at once. A host at half its maximum rate then flushed more often than at its maximum (3,184 against 2,376
/// fdatasync/s in one run), in batches of two or three. A flush costs more than its own time, and on the
/// virtual machine this was measured on a high flush rate stops the whole machine: paced at 7,250/s, a thread
/// of the load driver that only sleeps 1 ms at a time woke more than 2 ms late 22–24 times in 5 s, the CPUs'
/// steal time was 430–440 ms and the p99 13.2–13.4 ms; with commits at least 1 ms apart, 0 times, 0 ms and
/// 1.8–1.9 ms (`tally bench`, two runs each).
///
/// So a batch that gathered while the previous commit ran, and holds fewer than ``enough`` requests, starts
/// `minInterval` after the previous commit began, with what arrived meanwhile, or as soon as it would hold
/// ``enough`` (the queue wakes the committer then: a busy host's clients come back within the interval, and
/// waiting out the rest of it would only hold them). A request that finds the committer idle is committed at
/// once (a client alone never waits), and so is a batch of ``enough`` or more.
struct CommitPacing: Sendable {
    /// Requests in a batch that is committed without waiting.
    static let enough = 8
    private var previousStart: ContinuousClock.Instant?
    private var idle = true

    /// When to start committing a batch of `count` requests (at most `maxBatch`); `nil`: now.
    func start(count: Int, maxBatch: Int, minInterval: Duration, now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard !idle, minInterval > .zero, count < min(Self.enough, maxBatch), let previousStart else { return nil }
        let due = previousStart + minInterval
        return due > now ? due : nil
    }

    /// A commit began at `instant`.
    mutating func started(at instant: ContinuousClock.Instant) {
        previousStart = instant
        idle = false
    }

    /// The committer found nothing to commit and waits for a request.
    mutating func wentIdle() { idle = true }
}
