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
///
/// On a store where a batch costs one round trip whatever its size (PostgreSQL: ``HostStore/batchesCostRoundTrips``),
/// the committer also lets the clients it just answered come back and join the next batch (``regroup(count:maxBatch:
/// window:now:)``).
struct CommitPacing: Sendable {
    /// Requests in a batch that is committed without waiting.
    static let enough = 8
    private var previousStart: ContinuousClock.Instant?
    private var idle = true
    private var previous: (size: Int, waiting: Int, end: ContinuousClock.Instant)?

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

    /// A commit of `size` requests ended at `instant`, with `waiting` requests queued behind it when its answers
    /// went out.
    mutating func finished(size: Int, waiting: Int, at instant: ContinuousClock.Instant) {
        previous = (size, waiting, instant)
    }

    /// How many more requests a batch of `count`, about to start, waits for, and until when; `nil`: none, start now.
    ///
    /// Why: with one batch on its way at a time, a busy host's clients split into two groups that take turns, one
    /// waiting for its batch's round trip while the other's answers go out and its next requests come in, and each
    /// batch holds half of them. Where the round trip costs the same for 4 requests as for 8 (PostgreSQL: most of
    /// a batch's CPU, host and server, is per batch), that is twice the cost per request; two hosts sharing a store
    /// halve their batches again. So the batch waits, up to `window` after the previous commit ended, for as many
    /// requests as that commit answered beyond those that were already waiting: the clients that are coming back,
    /// which join the others in one batch. Clients that do not come back (each machine asks once a week) cost it
    /// the window at most, and only while a commit ended less than `window` ago: a host that has been idle longer
    /// commits at once.
    func regroup(count: Int, maxBatch: Int, window: Duration, now: ContinuousClock.Instant) -> (more: Int, until: ContinuousClock.Instant)? {
        guard window > .zero, let previous else { return nil }
        let until = previous.end + window
        let more = min(previous.waiting + previous.size, maxBatch) - count
        guard more > 0, until > now else { return nil }
        return (more, until)
    }
}
