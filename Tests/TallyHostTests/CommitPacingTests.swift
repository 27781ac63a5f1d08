import Testing
@testable import TallyHost

/// When the committer starts a commit, as a value: instants are inputs, nothing sleeps.
@Suite("Commit pacing as a value")
struct CommitPacingTests {
    let t0 = ContinuousClock.now
    let interval = Duration.milliseconds(1)

    @Test("a request that finds the committer idle is committed at once, however small the batch")
    func idle() {
        var pacing = CommitPacing()
        #expect(pacing.start(count: 1, maxBatch: 256, minInterval: interval, now: t0) == nil)
        pacing.started(at: t0)
        pacing.wentIdle()
        #expect(pacing.start(count: 1, maxBatch: 256, minInterval: interval, now: t0 + .microseconds(100)) == nil)
    }

    @Test("a small batch gathered during a commit starts the interval after that commit began; later, at once")
    func paced() {
        var pacing = CommitPacing()
        pacing.started(at: t0)
        #expect(pacing.start(count: 3, maxBatch: 256, minInterval: interval, now: t0 + .microseconds(300)) == t0 + interval)
        #expect(pacing.start(count: CommitPacing.enough - 1, maxBatch: 256, minInterval: interval, now: t0 + .microseconds(999)) == t0 + interval)
        #expect(pacing.start(count: 3, maxBatch: 256, minInterval: interval, now: t0 + interval) == nil)
        #expect(pacing.start(count: 3, maxBatch: 256, minInterval: interval, now: t0 + .milliseconds(5)) == nil)
        // The next interval counts from the commit that began last.
        pacing.started(at: t0 + .milliseconds(5))
        #expect(pacing.start(count: 2, maxBatch: 256, minInterval: interval, now: t0 + .microseconds(5_200)) == t0 + .microseconds(6_000))
    }

    @Test("a batch of enough requests, or a full one, or pacing set to 0, starts at once")
    func atOnce() {
        var pacing = CommitPacing()
        pacing.started(at: t0)
        let soon = t0 + .microseconds(200)
        #expect(pacing.start(count: CommitPacing.enough, maxBatch: 256, minInterval: interval, now: soon) == nil)
        #expect(pacing.start(count: 4, maxBatch: 4, minInterval: interval, now: soon) == nil, "a full batch waited")
        #expect(pacing.start(count: 3, maxBatch: 4, minInterval: interval, now: soon) == t0 + interval)
        #expect(pacing.start(count: 1, maxBatch: 256, minInterval: .zero, now: soon) == nil)
    }

    // Regrouping (a store whose batch costs one round trip): the batch after a commit of n requests waits, within
    // the window after that commit ended, for n more: the clients it answered, coming back.

    @Test("the batch after a commit waits, within the window after it ended, for as many requests as it answered")
    func regroupBusy() throws {
        var pacing = CommitPacing()
        let window = Duration.milliseconds(1)
        #expect(pacing.regroup(count: 3, maxBatch: 256, window: window, now: t0) == nil, "waited with no commit before it")
        pacing.started(at: t0)
        pacing.finished(size: 5, waiting: 3, at: t0 + .microseconds(900))
        // Three gathered during the commit; the five answered are coming back.
        let wait = try #require(pacing.regroup(count: 3, maxBatch: 256, window: window, now: t0 + .microseconds(950)))
        #expect(wait.more == 5)
        // One of them was back already when the batch was taken.
        #expect(pacing.regroup(count: 4, maxBatch: 256, window: window, now: t0 + .microseconds(950))?.more == 4)
        #expect(wait.until == t0 + .microseconds(1_900))
        #expect(pacing.regroup(count: 3, maxBatch: 256, window: window, now: t0 + .microseconds(1_900)) == nil, "waited past the window")
        // Never beyond a full batch.
        #expect(pacing.regroup(count: 3, maxBatch: 6, window: window, now: t0 + .microseconds(950))?.more == 3)
        #expect(pacing.regroup(count: 6, maxBatch: 6, window: window, now: t0 + .microseconds(950)) == nil, "a full batch waited")
        #expect(pacing.regroup(count: 3, maxBatch: 256, window: .zero, now: t0 + .microseconds(950)) == nil, "waited with the window 0")
    }

    @Test("a committer found idle soon after a commit waits for the rest of those it answered; idle longer, at once")
    func regroupIdle() throws {
        var pacing = CommitPacing()
        let window = Duration.milliseconds(1)
        pacing.started(at: t0)
        pacing.finished(size: 8, waiting: 0, at: t0 + .milliseconds(1))
        pacing.wentIdle()
        let wait = try #require(pacing.regroup(count: 1, maxBatch: 256, window: window, now: t0 + .microseconds(1_300)))
        #expect(wait.more == 7)
        #expect(wait.until == t0 + .milliseconds(2))
        #expect(pacing.regroup(count: 8, maxBatch: 256, window: window, now: t0 + .microseconds(1_300)) == nil, "all were back and it waited")
        #expect(pacing.regroup(count: 1, maxBatch: 256, window: window, now: t0 + .milliseconds(3)) == nil, "a client of a host idle for long waited")
    }
}
