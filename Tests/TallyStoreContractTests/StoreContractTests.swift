import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The store interface's contract, one suite for two stores: every test runs against SQLite on disk and against
/// PostgreSQL (a throwaway cluster this process starts, a database per test). Serialized: the cluster is shared.
@Suite("Store contract: SQLite and PostgreSQL", .serialized)
struct StoreContractTests {
    @Test("decisions in order: counts 1…30, the threshold's machine gets the first ticket, no machine counted twice, across a restart",
          arguments: StoreKind.allCases)
    func decidesInOrder(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).decidesInOrder()
    }

    @Test("decisions as the policy's table takes them: duplicates, an uncovered SKU, clock skew, the budget, later days, a clock set back, the window, grants, no certificate",
          arguments: StoreKind.allCases)
    func decidesAsThePolicy(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).decidesAsThePolicy()
    }

    @Test("decisions and events are durable: read back after a restart with their sequence numbers", arguments: StoreKind.allCases)
    func durable(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).keepsDecisionsAndEvents()
    }

    @Test("clients, events, usage, results by day and totals read back as decided", arguments: StoreKind.allCases)
    func reads(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).reads()
    }

    @Test("one CMID from two machines: a clone candidate, reported once a day, listed", arguments: StoreKind.allCases)
    func clones(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).clones()
    }

    @Test("retention deletes old events and old clients, and the count follows", arguments: StoreKind.allCases)
    func retention(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).retention()
    }

    @Test("after retention deleted every event, the next request is numbered on, applied, and counted once across a restart",
          arguments: StoreKind.allCases)
    func retentionOfEveryEvent(_ kind: StoreKind) async throws {
        try await StoreContract(kind, fixture: try ActivatedHost()).retentionOfEveryEvent()
    }

    @Test("new-machine budget: one address inventing CMIDs is counted up to its budget, refused after, reported once a day, across a restart",
          arguments: StoreKind.allCases)
    func newMachineBudget(_ kind: StoreKind) async throws {
        let fixture = try ActivatedHost()
        let contract = NewMachineBudgetContract(open: try kind.opener(fixture), certificate: fixture.certificate.claims,
                                                now: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        try await contract.run()
    }

    @Test("backup: SQLite writes a checked copy; PostgreSQL refuses and names pg_dump, writing nothing", arguments: StoreKind.allCases)
    func backup(_ kind: StoreKind) async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(kind, fixture: fixture)
        let store = try await contract.open()
        _ = try await store.decide([contract.input("b-1")], context: contract.context, now: contract.now)
        let path = fixture.temp.path("backup.sqlite")
        switch kind {
        case .sqlite:
            let files = try await store.backup(to: path)
            #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            let copy = try SQLiteHostStore(path: path)
            #expect(try await copy.clientCount() == 1)
            try await copy.close()
        case .postgresql:
            await #expect(throws: TallyError.self) { _ = try await store.backup(to: path) }
            do { _ = try await store.backup(to: path) } catch let error as TallyError { #expect(error.remedy.contains("pg_dump")) }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        try await store.close()
    }
}
