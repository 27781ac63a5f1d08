import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TallyCore
import TallyStore

/// The one way through the host for an activation request: requests queue here, the store decides and commits
/// them a batch at a time (group commit), and each gets its outcome only once its decision is durable.
///
/// A batch that fails to commit is answered `unavailable` (503) and counted nowhere: the store keeps nothing of
/// it, so the next batch is decided as if it never came. On graceful shutdown new requests are refused and
/// those already queued are committed and answered before the service returns.
public final class CommitPipeline: Service, Sendable {
    struct Item: Sendable {
        var request: ActivationRequest
        var completion: @Sendable (RequestOutcome) -> Void
        var received: ContinuousClock.Instant
    }

    let store: any HostStore
    let state: ActivationState
    let clock: HostClock
    let logger: Logger
    let observer: (any ActivationObserver)?
    private let queue = NIOLockedValueBox(CommitQueue<Item>())
    private let wake = AsyncSignal()
    private let sizes = NIOLockedValueBox<[Int: Int]>([:])
    private let failing = NIOLockedValueBox(false)
    /// The committer runs on a queue of its own, never waiting for a thread of the cooperative pool (or where the
    /// store would have it: ``HostStore/commitExecutor``).
    private let executor = DispatchTaskExecutor(label: "tally.commit")

    public init(store: any HostStore, state: ActivationState, clock: HostClock, logger: Logger, observer: (any ActivationObserver)? = nil) {
        self.store = store
        self.state = state
        self.clock = clock
        self.logger = logger
        self.observer = observer
    }

    /// Queues a request; `completion` runs once, on the committer's task (or at once when the host is stopping).
    /// The HTTP handler uses this form, so a request costs no task of its own.
    public func submit(_ request: ActivationRequest, completion: @escaping @Sendable (RequestOutcome) -> Void) {
        let item = Item(request: request, completion: completion, received: .now)
        switch queue.withLockedValue({ $0.submit(item) }) {
        case .queuedWake: wake.signal()
        case .queued: break
        case .refused: completion(.unavailable(TallyError(.storeUnavailable, "the host is shutting down")))
        }
    }

    /// Decides one request and returns its outcome once it is durable.
    public func activate(_ request: ActivationRequest) async -> RequestOutcome {
        await withCheckedContinuation { continuation in
            submit(request) { continuation.resume(returning: $0) }
        }
    }

    /// Group-commit batch sizes so far (size → batches), for the status and benchmarks.
    public func batchSizes() -> [Int: Int] { sizes.withLockedValue { $0 } }

    public func run() async throws {
        await withTaskExecutorPreference(store.commitExecutor ?? executor) {
            await withGracefulShutdownHandler {
                await commitLoop()
            } onGracefulShutdown: {
                self.stopAccepting()
            }
        }
    }

    /// Stops taking requests; what is queued is still committed (for a host stopped without a service group).
    public func stopAccepting() {
        queue.withLockedValue { $0.stopAccepting() }
        wake.signal()
    }

    private func commitLoop() async {
        var pacing = CommitPacing()
        while true {
            let settings = state.settings
            let maxBatch = max(1, settings.groupCommitMaxBatch)
            let next = queue.withLockedValue { queue -> (batch: [Item]?, drained: Bool) in
                let batch = queue.takeBatch(maxBatch: maxBatch)
                return (batch, queue.drained)
            }
            guard var batch = next.batch else {
                if next.drained { return }
                // Cancelled (the service group was cancelled, not shut down gracefully): take nothing more.
                if Task.isCancelled { stopAccepting() }
                pacing.wentIdle()
                await wake.wait()
                continue
            }
            let minInterval = Duration.microseconds(Int64(settings.groupCommitMinIntervalMicroseconds))
            if let due = pacing.start(count: batch.count, maxBatch: maxBatch, minInterval: minInterval, now: .now) {
                // Until `due`, or until enough requests wait to make the batch one that goes at once.
                batch += await gather(min(CommitPacing.enough, maxBatch) - batch.count, until: due, room: maxBatch - batch.count, fresh: false)
            }
            if store.batchesCostRoundTrips {
                let window = Duration.microseconds(Int64(settings.groupCommitRegroupMicroseconds))
                if let wait = pacing.regroup(count: batch.count, maxBatch: maxBatch, window: window, now: .now) {
                    batch += await gather(wait.more, until: wait.until, room: maxBatch - batch.count, fresh: true)
                }
            }
            pacing.started(at: .now)
            if settings.groupCommitMaxWaitMicroseconds > 0, batch.count < maxBatch {
                try? await Task.sleep(for: .microseconds(settings.groupCommitMaxWaitMicroseconds))
                let room = maxBatch - batch.count
                batch += queue.withLockedValue { $0.takeMore(upTo: room) }
            }
            let waiting = await commit(batch)
            pacing.finished(size: batch.count, waiting: waiting, at: .now)
            queue.withLockedValue { $0.finishedBatch() }
        }
    }

    /// What joins a batch that waits until `until`, or until `more` requests wait, whichever comes first: at most
    /// `room` of those waiting then.
    ///
    /// `fresh`: first forget a wake-up left from a request that came while the committer was not waiting (it took
    /// that request in its batch), which would end the wait at once; none can come between here and the queue's
    /// answer, since the queue is committing and only the request that makes `more` wait wakes the committer.
    /// The paced wait (`group-commit-min-interval-us`) keeps such a wake-up, as it always has: forgetting it there
    /// made the SQLite host's paced p99 1.37× (3.75 against 2.74 ms, one run).
    private func gather(_ more: Int, until: ContinuousClock.Instant, room: Int, fresh: Bool) async -> [Item] {
        if fresh { wake.reset() }
        if !queue.withLockedValue({ $0.wake(whenWaiting: more) }) { await waitForMore(until: until) }
        return queue.withLockedValue { queue in
            queue.stopWaking()
            return queue.takeMore(upTo: room)
        }
    }

    /// A paced batch's wait: `due` (as precise as a blocking sleep here, about 60 µs late, without holding the
    /// thread), or the queue's wake-up when enough requests wait, whichever comes first.
    private func waitForMore(until due: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: due, tolerance: .zero, clock: .continuous) }
            group.addTask { [wake] in await wake.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Commits and answers `batch`; returns how many requests were queued behind it when its answers went out.
    private func commit(_ batch: [Item]) async -> Int {
        sizes.withLockedValue { $0[batch.count, default: 0] += 1 }
        let now = clock.now()
        let (context, signer, _) = state.context(now: now)
        do {
            let started = ContinuousClock.now
            let stored = try await store.decide(batch.map(\.request.input), context: context, now: now)
            let took = started.duration(to: .now)
            if took > .milliseconds(500) {
                logger.warning("the store took long to commit a batch", metadata: ["duration": "\(took)", "batch": "\(batch.count)"])
            }
            if failing.withLockedValue({ failing in defer { failing = false }; return failing }) {
                logger.notice("the store takes activations again")
            }
            observe(batch, stored)
            let waiting = queue.withLockedValue { $0.waiting.count }
            for (item, decision) in zip(batch, stored) {
                guard let signer else {
                    item.completion(.notActivated)
                    continue
                }
                item.completion(.decided(DecidedRequest(request: item.request, stored: decision, signer: signer)))
            }
            return waiting
        } catch {
            let failure = (error as? TallyError) ?? TallyError(.storeUnavailable, "\(error)")
            // One line when the store starts failing, not one per batch.
            if !failing.withLockedValue({ failing in defer { failing = true }; return failing }) {
                logger.error("the store failed; requests are answered 503 until it takes them again",
                             metadata: ["error": "\(failure.message)", "batch": "\(batch.count)"])
            }
            observe(batch, nil)
            let outcome = RequestOutcome.unavailable(TallyError(.storeUnavailable, "the host could not store the request: \(failure.message)",
                                                                   remedy: failure.remedy))
            let waiting = queue.withLockedValue { $0.waiting.count }
            for item in batch { item.completion(outcome) }
            return waiting
        }
    }

    /// Tells the observer (metrics) what a batch did, before its answers are released.
    private func observe(_ batch: [Item], _ stored: [StoredDecision]?) {
        guard let observer else { return }
        let now = ContinuousClock.now
        observer.observe(ObservedBatch(inputs: batch.map(\.request.input), decisions: stored, latencies: batch.map { $0.received.duration(to: now) }))
    }
}
