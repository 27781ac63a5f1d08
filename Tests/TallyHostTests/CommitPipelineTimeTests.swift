import Foundation
import Testing
import TallyCore
@testable import TallyHost
import TallyStore
import TallyTestSupport

/// The commit pipeline with the host's clock as an input: a manual clock is moved, nothing waits for time.
@Suite("Commit pipeline: time as input", .serialized)
struct CommitPipelineTimeTests {
    @Test("decisions take the clock's time: moved 30 days, a machine has left the count and is counted again when it asks")
    func clockMoves() async throws {
        let start = LiveHost.wholeSecondNow()
        let fixture = try ActivatedHost(now: start)
        let clock = HostClock.manual(start)
        let store = try SQLiteHostStore(path: fixture.temp.path("s.sqlite"))
        let running = try CommitPipelineTests.Running(store: store, fixture: fixture, clock: clock)
        func count(_ machine: LiveHost.Machine) async throws -> (Int, Date) {
            guard case let .decided(decided) = await running.pipeline.activate(try CommitPipelineTests.request(machine, clock: clock)) else {
                throw TallyError(.storeUnavailable, "not decided")
            }
            return (decided.stored.decision.currentCount, decided.stored.time)
        }
        let (a, b) = (LiveHost.Machine(name: "a"), LiveHost.Machine(name: "b"))
        #expect(try await count(a) == (1, start))
        clock.advance(by: 29 * 86_400)
        #expect(try await count(b) == (2, start + 29 * 86_400))
        clock.advance(by: 86_400)
        #expect(try await store.counts(now: clock.now()) == ["client": 1])
        #expect(try await count(a).0 == 2)
        #expect(try await count(LiveHost.Machine()).0 == 3)
        await running.stop()
        try await store.close()
    }
}

@Suite("Commit queue as a value: edges")
struct CommitQueueEdgeTests {
    @Test("a batch that waits to fill takes what arrived meanwhile, up to its room; the rest is the next batch")
    func takeMore() {
        var queue = CommitQueue<Int>()
        #expect(queue.submit(1) == .queuedWake)
        #expect(queue.takeBatch(maxBatch: 3) == [1])
        for item in 2...6 { #expect(queue.submit(item) == .queued) }
        #expect(queue.takeMore(upTo: 2) == [2, 3])
        #expect(queue.takeMore(upTo: 0) == [])
        queue.finishedBatch()
        #expect(queue.takeBatch(maxBatch: 0) == [4], "a batch size below one is taken as one")
        queue.finishedBatch()
        #expect(queue.takeBatch(maxBatch: 100) == [5, 6])
    }

    @Test("stopping while a batch commits: new items are refused, the batch and what waits are still committed, then drained")
    func stopWhileCommitting() {
        var queue = CommitQueue<Int>()
        _ = queue.submit(1)
        #expect(queue.takeBatch(maxBatch: 10) == [1])
        #expect(queue.submit(2) == .queued)
        queue.stopAccepting()
        #expect(queue.submit(3) == .refused)
        #expect(!queue.drained)
        queue.finishedBatch()
        #expect(!queue.drained, "an item still waits")
        #expect(queue.takeBatch(maxBatch: 10) == [2])
        #expect(!queue.drained, "its batch is being committed")
        queue.finishedBatch()
        #expect(queue.drained)
        #expect(queue.takeBatch(maxBatch: 10) == nil)
    }

    @Test("an idle committer is woken by the first item only; after it found the queue empty the next item wakes it again")
    func wakes() {
        var queue = CommitQueue<Int>()
        #expect(queue.submit(1) == .queuedWake)
        #expect(queue.submit(2) == .queued, "the committer was already woken")
        #expect(queue.takeBatch(maxBatch: 10) == [1, 2])
        queue.finishedBatch()
        #expect(queue.takeBatch(maxBatch: 10) == nil)
        #expect(!queue.committing)
        #expect(queue.submit(3) == .queuedWake)
    }
}
