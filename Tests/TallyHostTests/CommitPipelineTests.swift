import Foundation
import Logging
import Testing
import TallyCore
@testable import TallyHost
import ServiceLifecycle
import TallyStore
import TallyTestSupport

/// A store that fails on demand, beside the real SQLite tests (which fill the disk and make the file read-only):
/// it proves the pipeline answers a failed batch with an error and decides the next as if it never came. For the
/// regrouping test it can also say that its batches cost a round trip (as PostgreSQL's do), hold a batch until
/// the test lets it go, and tell the size of each batch it is given.
final class FailingStore: HostStore, @unchecked Sendable {
    // @unchecked: `failNext`, `holdNext` and `held` are guarded by `lock`; everything else is the wrapped store's.
    let inner: any HostStore
    let batchesCostRoundTrips: Bool
    /// The size of each batch, as `decide` is called.
    let batches = AsyncStream<Int>.makeStream()
    private let lock = NSLock()
    private var failNext = false
    private var holdNext = false
    private var held: CheckedContinuation<Void, Never>?

    init(inner: any HostStore, batchesCostRoundTrips: Bool = false) {
        self.inner = inner
        self.batchesCostRoundTrips = batchesCostRoundTrips
    }

    func failNextBatch() {
        lock.withLock { failNext = true }
    }

    /// The next batch waits in `decide` until ``release()``.
    func holdNextBatch() {
        lock.withLock { holdNext = true }
    }

    func release() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { held = nil }
            return held
        }
        waiting?.resume()
    }

    func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision] {
        batches.continuation.yield(batch.count)
        if lock.withLock({ () -> Bool in defer { holdNext = false }; return holdNext }) {
            await withCheckedContinuation { continuation in lock.withLock { held = continuation } }
        }
        let fail = lock.withLock { () -> Bool in
            defer { failNext = false }
            return failNext
        }
        if fail { throw TallyError(.storeUnavailable, "disk full (simulated)") }
        return try await inner.decide(batch, context: context, now: now)
    }
    func counts(now: Date) async throws -> [String: Int] { try await inner.counts(now: now) }
    func append(_ events: [TallyEvent]) async throws { try await inner.append(events) }
    func totals() async throws -> [ResultCode: Int] { try await inner.totals() }
    func clients(_ query: ClientQuery) async throws -> [ClientRecord] { try await inner.clients(query) }
    func clientCount() async throws -> Int { try await inner.clientCount() }
    func events(_ query: EventQuery) async throws -> [StoredEvent] { try await inner.events(query) }
    func newestEvents(limit: Int) async throws -> [StoredEvent] { try await inner.newestEvents(limit: limit) }
    func lastEvent(_ id: EventID) async throws -> StoredEvent? { try await inner.lastEvent(id) }
    func eventCount() async throws -> Int { try await inner.eventCount() }
    func usage(fromDay: Int, toDay: Int) async throws -> [DailyUsage] { try await inner.usage(fromDay: fromDay, toDay: toDay) }
    func resultsByDay(since firstDay: Int) async throws -> [DailyResults] { try await inner.resultsByDay(since: firstDay) }
    func newMachines(fromDay: Int, toDay: Int, busiest: Int) async throws -> [DailyNewMachines] {
        try await inner.newMachines(fromDay: fromDay, toDay: toDay, busiest: busiest)
    }
    func takeCloneCandidates() -> [CloneCandidate] { inner.takeCloneCandidates() }
    func cloneCandidatesArrive() async { await inner.cloneCandidatesArrive() }
    func reportClones(_ candidates: [CloneCandidate], event: @escaping @Sendable (CloneReport, Date) -> TallyEvent) async throws -> [CloneReport] {
        try await inner.reportClones(candidates, event: event)
    }
    func clonedImages(since firstDay: Int, limit: Int) async throws -> [ClonedImage] { try await inner.clonedImages(since: firstDay, limit: limit) }
    func deleteEvents(before cutoff: Date) async throws -> Int { try await inner.deleteEvents(before: cutoff) }
    func deleteClients(before day: Int) async throws -> Int { try await inner.deleteClients(before: day) }
    func catchUp() async throws { try await inner.catchUp() }
    func backup(to path: String) async throws -> [String] { try await inner.backup(to: path) }
    func tableCounts() async throws -> TableCounts { try await inner.tableCounts() }
    func services() -> [any Service] { inner.services() }
    func close() async throws { try await inner.close() }
}

@Suite("Commit pipeline")
struct CommitPipelineTests {
    /// A pipeline over `store`, run in a task of the test (no ports, no timers).
    struct Running {
        let pipeline: CommitPipeline
        let task: Task<Void, any Error>

        init(store: any HostStore, fixture: ActivatedHost, clock: HostClock, settings: HostSettings = HostSettings()) throws {
            let state = try ActivationState(settings: settings, key: fixture.host.signingKey(), certificate: fixture.certificate)
            let pipeline = CommitPipeline(store: store, state: state, clock: clock, logger: LiveHost.quietLogger)
            self.pipeline = pipeline
            task = Task { try await pipeline.run() }
        }

        func stop() async {
            pipeline.stopAccepting()
            _ = try? await task.value
        }
    }

    static func request(_ machine: LiveHost.Machine, clock: HostClock) throws -> ActivationRequest {
        try ActivationRequest.decode(LiveHost.body(machine, sku: "studio-pro", clientTime: clock.now()).0, from: "test")
    }

    @Test("a batch that fails to commit gets errors, not tickets; the next batch is decided as if it never came")
    func failedBatch() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        let store = FailingStore(inner: try SQLiteHostStore(path: fixture.temp.path("store.sqlite")))
        let running = try Running(store: store, fixture: fixture, clock: clock)
        guard case let .decided(first) = await running.pipeline.activate(try Self.request(LiveHost.Machine(), clock: clock)) else {
            Issue.record("first request not decided")
            return
        }
        #expect(first.stored.decision.currentCount == 1)
        store.failNextBatch()
        guard case let .unavailable(failure) = await running.pipeline.activate(try Self.request(LiveHost.Machine(), clock: clock)) else {
            Issue.record("a failed commit was answered")
            return
        }
        #expect(failure.code == .storeUnavailable)
        #expect(try await store.counts(now: clock.now())["client"] == 1)
        guard case let .decided(next) = await running.pipeline.activate(try Self.request(LiveHost.Machine(), clock: clock)) else {
            Issue.record("the store recovered but the request failed")
            return
        }
        #expect(next.stored.decision.currentCount == 2)
        #expect(try await store.totals()[.countTooLow] == 2)
        #expect(try await store.eventCount() == 2)
        await running.stop()
    }

    @Test("batches group concurrent requests, at most group-commit-max-batch each, every request answered once")
    func batching() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        var settings = HostSettings()
        settings.groupCommitMaxWaitMicroseconds = 20_000
        settings.groupCommitMaxBatch = 8
        let running = try Running(store: try SQLiteHostStore(path: fixture.temp.path("s.sqlite")), fixture: fixture, clock: clock, settings: settings)
        let counts = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    guard case let .decided(decided) = await running.pipeline.activate(try! Self.request(LiveHost.Machine(), clock: clock)) else { return -1 }
                    return decided.stored.decision.currentCount
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(counts.sorted() == Array(1...32))
        let sizes = running.pipeline.batchSizes()
        #expect(sizes.reduce(0) { $0 + $1.key * $1.value } == 32)
        #expect(sizes.keys.allSatisfy { $0 <= 8 })
        await running.stop()
    }

    @Test("on a store whose batch costs a round trip, the clients a commit answered come back into the next batch")
    func regroup() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        var settings = HostSettings()
        settings.groupCommitMinIntervalMicroseconds = 0
        // A minute (beyond the setting's range, which the file's validation enforces): however slow this machine,
        // the batch is let go by the client that comes back, never by the end of the window.
        settings.groupCommitRegroupMicroseconds = 60_000_000
        let store = FailingStore(inner: try SQLiteHostStore(path: fixture.temp.path("s.sqlite")), batchesCostRoundTrips: true)
        let running = try Running(store: store, fixture: fixture, clock: clock, settings: settings)
        let answered = AsyncStream<Int>.makeStream()
        let submit = { @Sendable (tag: Int) throws in
            running.pipeline.submit(try Self.request(LiveHost.Machine(), clock: clock)) { outcome in
                if case .decided = outcome { answered.continuation.yield(tag) }
            }
        }
        var batches = store.batches.stream.makeAsyncIterator()
        var answers = answered.stream.makeAsyncIterator()
        store.holdNextBatch()
        try submit(1)
        #expect(await batches.next() == 1)
        // Two more arrive while the first is committed (submit queues before it returns), then it is let go.
        try submit(2)
        try submit(3)
        store.release()
        #expect(await answers.next() == 1)
        // The client answered asks again: the two that waited have waited for it, and all three go together.
        try submit(4)
        let second = await batches.next()
        #expect(second == 3, "the next batch held \(second.map(String.init) ?? "nothing")")
        var rest: Set<Int> = []
        for _ in 0..<3 { rest.insert(await answers.next() ?? 0) }
        #expect(rest == [2, 3, 4])
        await running.stop()
    }

    @Test("after stopAccepting a request is refused at once; what was queued is committed")
    func stopping() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        let store = try SQLiteHostStore(path: fixture.temp.path("s.sqlite"))
        let running = try Running(store: store, fixture: fixture, clock: clock)
        guard case .decided = await running.pipeline.activate(try Self.request(LiveHost.Machine(), clock: clock)) else {
            Issue.record("not decided")
            return
        }
        await running.stop()
        guard case let .unavailable(failure) = await running.pipeline.activate(try Self.request(LiveHost.Machine(), clock: clock)) else {
            Issue.record("a stopped pipeline took a request")
            return
        }
        #expect(failure.message.contains("shutting down"))
        #expect(try await store.eventCount() == 1)
    }
}

@Suite("Commit queue as a value")
struct CommitQueueTests {
    @Test("the first item wakes the committer; items during a commit wait; batches keep order and size")
    func queue() {
        var queue = CommitQueue<Int>()
        #expect(queue.submit(1) == .queuedWake)
        #expect(queue.submit(2) == .queued)
        #expect(queue.takeBatch(maxBatch: 1) == [1])
        #expect(queue.submit(3) == .queued)
        queue.finishedBatch()
        #expect(queue.takeBatch(maxBatch: 10) == [2, 3])
        queue.finishedBatch()
        #expect(queue.takeBatch(maxBatch: 10) == nil)
        #expect(queue.submit(4) == .queuedWake)
        queue.stopAccepting()
        #expect(queue.submit(5) == .refused)
        #expect(!queue.drained)
        #expect(queue.takeBatch(maxBatch: 10) == [4])
        queue.finishedBatch()
        #expect(queue.drained)
    }

    @Test("a paced batch is woken once, by the item that makes enough wait; not before, not after it stops waiting")
    func pacedWake() {
        var queue = CommitQueue<Int>()
        #expect(queue.submit(1) == .queuedWake)
        #expect(queue.takeBatch(maxBatch: 10) == [1])
        #expect(queue.submit(2) == .queued)
        let early = queue.wake(whenWaiting: 3)
        #expect(!early)
        #expect(queue.submit(3) == .queued)
        #expect(queue.submit(4) == .queuedWake, "the third waiting item did not wake the paced batch")
        #expect(queue.submit(5) == .queued, "woken twice")
        let already = queue.wake(whenWaiting: 3)
        #expect(already, "enough already waited")
        queue.stopWaking()
        #expect(queue.takeMore(upTo: 10) == [2, 3, 4, 5])
        let none = queue.wake(whenWaiting: 2)
        #expect(!none)
        queue.stopWaking()
        #expect(queue.submit(6) == .queued)
        #expect(queue.submit(7) == .queued, "woken after the wait was over")
    }
}
