import Foundation
import Testing
import TallyCore
@testable import TallyHost
@testable import TallyStore
import TallyTestSupport

/// The count as plain values (what the SQLite store keeps in memory and what one batch sees), no I/O.
@Suite("Decision memory and batch counts as values")
struct DecisionMemoryTests {
    static let today = 20_000

    @Test("the count is the machines whose last day lies in the 30 days ending today; older and later days are not counted")
    func window() {
        var memory = DecisionMemory()
        memory.histogram = ["client": [Self.today: 2, Self.today - 29: 1, Self.today - 30: 5, Self.today + 1: 7], "server": [Self.today - 3: 1]]
        #expect(memory.counts(today: Self.today) == ["client": 3, "server": 1])
        // Time is an input: the next day the machines of day today-29 leave the window and tomorrow's enter it.
        #expect(memory.counts(today: Self.today + 1) == ["client": 9, "server": 1])
        #expect(memory.counts(today: Self.today + 40) == ["client": 0, "server": 0])
    }

    @Test("a batch reads its own changes first, then the pending decisions, then the index; the memory is untouched until merged")
    func batchLayers() {
        let pendingKey = MachineKey(cmid: "pending", productClass: "client")
        let indexedKey = MachineKey(cmid: "indexed", productClass: "client")
        let neverKey = MachineKey(cmid: "never", productClass: "client")
        var memory = DecisionMemory()
        memory.histogram = ["client": [Self.today - 5: 1, Self.today - 2: 1]]
        memory.remember(pendingKey, day: Self.today - 2, seq: 7)
        var batch = BatchCounts(histogram: memory.histogram, pending: memory.pending,
                                looked: [indexedKey: Self.today - 5, neverKey: nil], newMachines: memory.newMachines, today: Self.today)
        #expect(batch.lastDay(of: "pending", class: "client") == Self.today - 2)
        #expect(batch.lastDay(of: "indexed", class: "client") == Self.today - 5)
        #expect(batch.lastDay(of: "never", class: "client") == nil)
        #expect(batch.lastDay(of: "pending", class: "server") == nil)

        // The indexed machine asks today (position 0), a new one too (position 1): moved and added.
        batch.position = 0
        batch.record("indexed", class: "client", day: Self.today, previous: Self.today - 5)
        batch.position = 1
        batch.record("never", class: "client", day: Self.today, previous: nil)
        #expect(batch.lastDay(of: "indexed", class: "client") == Self.today)
        #expect(batch.machines(class: "client", lastDay: Self.today - 5) == 0)
        #expect(batch.machines(class: "client", lastDay: Self.today) == 2)
        #expect(batch.count(class: "client", today: Self.today) == 3)
        // Nothing of it is in the memory: a batch that fails to commit is simply dropped.
        #expect(memory.counts(today: Self.today) == ["client": 2])
        #expect(memory.pending.count == 1)

        // Committed as log rows 8 and 9: the memory takes the changes, with the rows that set them.
        memory.merge(local: batch.local, deltas: batch.deltas, newMachines: batch.newMachines, seqs: [8, 9])
        #expect(memory.counts(today: Self.today) == ["client": 3])
        #expect(memory.histogram["client"]?[Self.today - 5] == nil, "a day with no machine left stays in the histogram")
        #expect(memory.pending[indexedKey]?.seq == 8 && memory.pending[neverKey]?.seq == 9 && memory.pending[pendingKey]?.seq == 7)
        #expect(memory.unindexedRows == 2)
    }

    @Test("pruning forgets the pending decisions the index holds, only forward")
    func prune() {
        var memory = DecisionMemory()
        for seq in 1...5 { memory.remember(MachineKey(cmid: "m\(seq)", productClass: "client"), day: Self.today, seq: Int64(seq)) }
        memory.prune(indexedUpTo: 3)
        #expect(Set(memory.pending.keys.map(\.cmid)) == ["m4", "m5"])
        memory.prune(indexedUpTo: 2)
        #expect(memory.pending.count == 2, "pruning back to an older position changed the memory")
        memory.prune(indexedUpTo: 10)
        #expect(memory.pending.isEmpty)
    }

    @Test("a machine decided again is kept until the index holds its newer row")
    func pruneRedecided() {
        var memory = DecisionMemory()
        let key = MachineKey(cmid: "again", productClass: "client")
        memory.remember(key, day: Self.today - 1, seq: 1)
        memory.remember(MachineKey(cmid: "other", productClass: "client"), day: Self.today, seq: 2)
        memory.remember(key, day: Self.today, seq: 3)
        memory.prune(indexedUpTo: 2)
        #expect(memory.pending[key]?.seq == 3 && memory.pending[key]?.day == Self.today)
        #expect(memory.pending.count == 1)
        memory.prune(indexedUpTo: 3)
        #expect(memory.pending.isEmpty)
    }

    @Test("one prune forgets a bounded number of decisions; the next batches forget the rest")
    func pruneBounded() {
        var memory = DecisionMemory(reserving: 16)
        for seq in 1...5_000 { memory.remember(MachineKey(cmid: "m\(seq)", productClass: "client"), day: Self.today, seq: Int64(seq)) }
        memory.prune(indexedUpTo: 5_000, limit: 2_048)
        #expect(memory.pending.count == 5_000 - 2_048)
        #expect(memory.pending[MachineKey(cmid: "m2048", productClass: "client")] == nil)
        #expect(memory.pending[MachineKey(cmid: "m2049", productClass: "client")] != nil, "the oldest went first")
        memory.prune(indexedUpTo: 5_000, limit: 2_048)
        memory.prune(indexedUpTo: 5_000, limit: 2_048)
        #expect(memory.pending.isEmpty)
        // Decided after it all was forgotten: kept, and pruned as before.
        memory.remember(MachineKey(cmid: "later", productClass: "client"), day: Self.today, seq: 5_001)
        memory.prune(indexedUpTo: 5_000)
        #expect(memory.pending.count == 1)
        memory.prune(indexedUpTo: 5_001)
        #expect(memory.pending.isEmpty)
    }
}

/// The SQLite store deciding batches, with the time given to each call: the count crossing the threshold inside
/// a batch, a repeated machine, the window moving, a failed commit leaving no trace, the index taking over.
@Suite("Store decisions with time as input", .serialized)
struct StoreDecisionTests {
    let fixture: ActivatedHost
    let temp = TemporaryDirectory()
    let start = LiveHost.wholeSecondNow()

    init() throws { fixture = try ActivatedHost(now: start) }

    var context: DecisionContext { DecisionContext(certificate: fixture.certificate.claims, intervals: ClientIntervals()) }

    static func input(_ machine: LiveHost.Machine, sku: String = "studio-server", at now: Date) throws -> ActivationInput {
        try ActivationRequest.decode(LiveHost.body(machine, sku: sku, clientTime: now).0, from: "test").input
    }

    func decide(_ store: SQLiteHostStore, _ machines: [LiveHost.Machine], sku: String = "studio-server", at now: Date) async throws -> [ActivationDecision] {
        try await store.decide(machines.map { try Self.input($0, sku: sku, at: now) }, context: context, now: now).map(\.decision)
    }

    @Test("one batch is decided in order: a repeated machine is counted once, the fifth server is granted, the sixth too")
    func orderInBatch() async throws {
        let store = try SQLiteHostStore(path: temp.path("s.sqlite"))
        let m = (0..<6).map { LiveHost.Machine(name: "m\($0)") }
        let decisions = try await decide(store, [m[0], m[1], m[0], m[2], m[3], m[4], m[5]], at: start)
        #expect(decisions.map(\.currentCount) == [1, 2, 2, 3, 4, 5, 6])
        #expect(decisions.map(\.code) == [.countTooLow, .countTooLow, .countTooLow, .countTooLow, .countTooLow, .success, .success])
        #expect(decisions.map(\.grantsTicket) == [false, false, false, false, false, true, true])
        #expect(decisions.allSatisfy { $0.counted && $0.requiredCount == 5 && $0.productClass == "server" })
        #expect(try await store.counts(now: start) == ["server": 6])
        #expect(try await store.eventCount() == 7)
        try await store.close()
    }

    @Test("the window moves with the time given: a machine leaves it after 30 days and is counted again when it asks")
    func windowMoves() async throws {
        let store = try SQLiteHostStore(path: temp.path("s.sqlite"))
        let day: TimeInterval = 86_400
        let (a, b, c) = (LiveHost.Machine(name: "a"), LiveHost.Machine(name: "b"), LiveHost.Machine(name: "c"))
        #expect(try await decide(store, [a], at: start).map(\.currentCount) == [1])
        #expect(try await decide(store, [b], at: start + 29 * day).map(\.currentCount) == [2])
        #expect(try await store.counts(now: start + 29 * day) == ["server": 2])
        #expect(try await store.counts(now: start + 30 * day) == ["server": 1])
        #expect(try await decide(store, [c], at: start + 30 * day).map(\.currentCount) == [2])
        #expect(try await decide(store, [a], at: start + 30 * day).map(\.currentCount) == [3])
        try await store.close()
    }

    @Test("a commit that fails stores and counts nothing of its batch; the next batch is decided as if it never came")
    func failedCommit() async throws {
        let store = try SQLiteHostStore(path: temp.path("s.sqlite"))
        let m = (0..<6).map { LiveHost.Machine(name: "m\($0)") }
        _ = try await decide(store, [m[0], m[1], m[2]], at: start)
        try store.setQueryOnly(true)
        await #expect(throws: TallyError(.storeUnavailable, "")) { _ = try await decide(store, [m[3], m[4]], at: start) }
        try store.setQueryOnly(false)
        #expect(try await store.counts(now: start) == ["server": 3])
        #expect(try await store.eventCount() == 3)
        // m3 was in the failed batch: it is new now, and the count never saw m4.
        #expect(try await decide(store, [m[5], m[3]], at: start).map(\.currentCount) == [4, 5])
        #expect(try await store.eventCount() == 5)
        try await store.catchUp()
        #expect(Set(try await store.clients(ClientQuery()).map(\.cmid)) == Set([m[0], m[1], m[2], m[5], m[3]].map(\.cmid)))
        try await store.close()
    }

    @Test("once the index holds a machine the memory forgets it and the index answers; a new store decides the same")
    func indexTakesOver() async throws {
        let path = temp.path("s.sqlite")
        let store = try SQLiteHostStore(path: path)
        let day: TimeInterval = 86_400
        let (a, b) = (LiveHost.Machine(name: "a"), LiveHost.Machine(name: "b"))
        _ = try await decide(store, [a, b], at: start)
        try await store.catchUp()
        // The next decision prunes the memory: `a` is looked up in the index (its last day), not counted twice.
        #expect(try await decide(store, [a], at: start + day).map(\.currentCount) == [2])
        #expect(store.memory.withLock { $0.pending.keys.map(\.cmid) } == [a.cmid])
        try await store.close()
        let reopened = try SQLiteHostStore(path: path)
        #expect(try await reopened.counts(now: start + day) == ["server": 2])
        #expect(try await decide(reopened, [b, LiveHost.Machine()], at: start + 2 * day).map(\.currentCount) == [2, 3])
        #expect(try await reopened.clients(ClientQuery()).first { $0.cmid == a.cmid }?.requests == 2)
        try await reopened.close()
    }
}
