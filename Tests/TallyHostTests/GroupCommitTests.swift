import Foundation
import Logging
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

/// A store that fails on demand, beside the real SQLite tests: it proves a failed batch is rolled back in
/// memory and answered with an error.
final class FailingStore: HostStore, @unchecked Sendable {
    let inner: SQLiteHostStore
    let lock = NSLock()
    var failNext = false

    init(inner: SQLiteHostStore) { self.inner = inner }

    func loadCounts(now: Date) throws -> ClassCounts { try inner.loadCounts(now: now) }
    func commit(_ batch: [ActivationRecord]) throws {
        lock.lock()
        let fail = failNext
        failNext = false
        lock.unlock()
        if fail { throw TallyError(.storeUnavailable, "disk full (simulated)") }
        try inner.commit(batch)
    }
    func append(_ events: [TallyEvent]) throws { try inner.append(events) }
    func totals() throws -> [ResultCode: Int] { try inner.totals() }
    func clients(_ query: ClientQuery) throws -> [ClientRecord] { try inner.clients(query) }
    func events(since: Date?, afterSeq: Int64?, id: EventID?, limit: Int) throws -> [StoredEvent] {
        try inner.events(since: since, afterSeq: afterSeq, id: id, limit: limit)
    }
}

@Suite("Group commit")
struct GroupCommitTests {
    func service(_ store: any HostStore, fixture: ActivatedHost, clock: HostClock) throws -> ActivationService {
        let service = try ActivationService(store: store, key: fixture.host.signingKey(), certificate: fixture.certificate,
                                            settings: HostSettings(), clock: clock, logger: LiveHost.quietLogger)
        service.start()
        return service
    }

    func submit(_ service: ActivationService, _ machine: LiveHost.Machine, clock: HostClock) async -> HostDecision {
        await withCheckedContinuation { continuation in
            service.submit(LiveHost.body(machine, sku: "studio-pro", clientTime: clock.now()).0, from: "test") { continuation.resume(returning: $0) }
        }
    }

    @Test("a batch that fails to commit gets errors, not tickets, and its sightings are undone")
    func failedBatchRollsBack() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        let store = FailingStore(inner: try SQLiteHostStore(path: fixture.temp.path("store.sqlite")))
        let service = try service(store, fixture: fixture, clock: clock)
        defer { service.stop() }
        let first = await submit(service, LiveHost.Machine(), clock: clock)
        guard case .answer = first else { Issue.record("first request not answered"); return }
        store.failNext = true
        let failed = await submit(service, LiveHost.Machine(), clock: clock)
        guard case let .error(status, body) = failed else { Issue.record("a failed commit was answered"); return }
        #expect(status == 503)
        #expect(body.code == .storeUnavailable)
        #expect(service.counts()["client"]?.current == 1)
        let next = await submit(service, LiveHost.Machine(), clock: clock)
        guard case let .answer(plan) = next else { Issue.record("the store recovered but the request failed"); return }
        #expect(plan.response.cur == 2)
        #expect(try store.inner.totals()[.countTooLow] == 2)
    }

    @Test("batches group concurrent requests when a wait is configured")
    func batching() async throws {
        let fixture = try ActivatedHost()
        let clock = HostClock.manual(Date())
        var settings = HostSettings()
        settings.groupCommitMaxWaitMicroseconds = 20_000
        settings.groupCommitMaxBatch = 8
        let service = try ActivationService(store: try SQLiteHostStore(path: fixture.temp.path("s.sqlite")), key: fixture.host.signingKey(),
                                            certificate: fixture.certificate, settings: settings, clock: clock, logger: LiveHost.quietLogger)
        service.start()
        defer { service.stop() }
        await withTaskGroup(of: HostDecision.self) { group in
            for _ in 0..<32 { group.addTask { await self.submit(service, LiveHost.Machine(), clock: clock) } }
            for await _ in group {}
        }
        let sizes = service.batchSizes()
        #expect(sizes.reduce(0) { $0 + $1.key * $1.value } == 32)
        #expect(sizes.keys.allSatisfy { $0 <= 8 })
    }
}
