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
}
