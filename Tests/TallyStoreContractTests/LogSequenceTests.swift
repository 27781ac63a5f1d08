import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The SQLite log's sequence after retention (PostgreSQL's sequence never goes back: the contract covers both).
@Suite("SQLite log sequence: numbered on after every event is gone, also in a store an earlier Tally emptied")
struct LogSequenceTests {
    @Test("a log emptied by an earlier Tally's retention (no floor) is numbered on above the index's marker: the next machine is applied and counted once")
    func emptiedByAnEarlierTally() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        let path = fixture.temp.path("host.sqlite")
        var store = try await contract.open()
        let old = contract.now.addingTimeInterval(-40 * 86_400)
        let before = try await store.decide((1...3).map { contract.input("idle-\($0)", at: old) }, context: contract.context, now: old)
        try await store.catchUp()
        try await store.close()
        try LegacyHostStore.emptyLogWithoutFloor(path: path)

        store = try await contract.open()
        #expect(try await store.eventCount() == 0)
        let after = try await store.decide([contract.input("back-1")], context: contract.context, now: contract.now)
        #expect(after[0].seq > before.map(\.seq).max() ?? 0)
        try await store.close()
        #expect(try LegacyHostStore.appliedMigrations(path: path).contains("5-seq-floor"))

        store = try await contract.open()
        #expect(try await store.counts(now: contract.now)["client"] == 1)
        let again = try await store.decide([contract.input("back-1")], context: contract.context, now: contract.now)
        #expect(again.map(\.decision.currentCount) == [1])
        try await store.close()
    }
}
