import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The SQLite log has no time index on its request rows: events from a time on, results per day and retention
/// come from the index's days (`log_days`, `results_by_day`). Each is checked against a full read of the log.
@Suite("SQLite log days: events since, results by day and retention without a time index, exact when the clock went back")
struct LogDaysTests {
    static let day: TimeInterval = 86_400

    /// Requests on several days, one decided with the clock set back (a later row with an earlier time), and other
    /// events; returns the store, still open.
    static func filled(_ contract: StoreContract) async throws -> any HostStore {
        let store = try await contract.open()
        let now = contract.now
        for (index, back) in [3.0, 3.0, 1.0, 0.0, 2.0].enumerated() {
            let time = now.addingTimeInterval(-back * day)
            _ = try await store.decide([contract.input("m-\(index)", at: time)], context: contract.context, now: time)
        }
        try await store.append([TallyEvent(id: .dnsPublishSucceeded, time: now.addingTimeInterval(-1.2 * day)),
                                TallyEvent(id: .dnsPublishSucceeded, time: now.addingTimeInterval(-2.5 * day))])
        return store
    }

    /// What a full read of the log says.
    static func oracle(_ store: any HostStore) async throws -> [StoredEvent] {
        try await store.events(EventQuery(limit: 10_000))
    }

    static func expectSame(_ store: any HostStore, since: Date) async throws {
        let all = try await oracle(store)
        let fromThen = try await store.events(EventQuery(since: since, limit: 10_000))
        #expect(fromThen.map(\.seq) == all.filter { $0.event.time >= since }.map(\.seq))
        let limited = try await store.events(EventQuery(since: since, limit: 2))
        #expect(limited.map(\.seq) == Array(all.filter { $0.event.time >= since }.map(\.seq).prefix(2)))
        let firstDay = CountWindow.day(of: since)
        var expected: [String: Int] = [:]
        for event in all where event.event.id == .requestHandled && CountWindow.day(of: event.event.time) >= firstDay {
            if let result = event.event.result { expected["\(CountWindow.day(of: event.event.time)) \(result.hex)", default: 0] += 1 }
        }
        var found: [String: Int] = [:]
        for row in try await store.resultsByDay(since: firstDay) { found["\(row.day) \(row.result.hex)", default: 0] += row.requests }
        #expect(found == expected)
    }

    @Test("events from a time on and results per day are what a full read of the log finds, the clock set back included")
    func sinceAndResults() async throws {
        let contract = try StoreContract(.sqlite, fixture: try ActivatedHost())
        let store = try await Self.filled(contract)
        for back in [0.5, 1.5, 2.2, 2.8, 4.0] { try await Self.expectSame(store, since: contract.now.addingTimeInterval(-back * Self.day)) }
        try await store.close()
    }

    @Test("retention deletes exactly the events before the cutoff, the row decided with the clock set back among them")
    func retention() async throws {
        let contract = try StoreContract(.sqlite, fixture: try ActivatedHost())
        let store = try await Self.filled(contract)
        try await store.catchUp()
        let cutoff = contract.now.addingTimeInterval(-1.5 * Self.day)
        let all = try await Self.oracle(store)
        let old = all.filter { $0.event.time < cutoff }
        #expect(old.contains { $0.event.fields["cmid"] == "m-4" }, "the row decided 2 days back comes after newer ones")
        #expect(try await store.deleteEvents(before: cutoff) == old.count)
        let left = try await Self.oracle(store)
        #expect(left.map(\.seq) == all.filter { $0.event.time >= cutoff }.map(\.seq))
        // Results per day go by whole days: the cutoff's own day keeps its count until the next sweep.
        try await Self.expectSame(store, since: Date(timeIntervalSince1970: Double(CountWindow.day(of: cutoff) + 1) * Self.day))
        let remaining = try await store.events(EventQuery(since: contract.now.addingTimeInterval(-5 * Self.day), limit: 100))
        #expect(remaining.map(\.seq) == left.map(\.seq))
        try await store.close()
    }

    @Test("an index from before the log's days is filled from the log once, at the next open")
    func filledAtOpen() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        var store = try await Self.filled(contract)
        try await store.catchUp()
        try await store.close()
        try LegacyHostStore.indexWithoutLogDays(path: fixture.temp.path("host-index.sqlite"))
        store = try await contract.open()
        for back in [0.5, 2.2, 4.0] { try await Self.expectSame(store, since: contract.now.addingTimeInterval(-back * Self.day)) }
        try await store.close()
        #expect(try LegacyHostStore.appliedMigrations(path: fixture.temp.path("host-index.sqlite")).contains("3-log-days"))
    }
}
