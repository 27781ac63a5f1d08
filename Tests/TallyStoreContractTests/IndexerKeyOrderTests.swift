import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The SQLite indexer applies a chunk's rows by CMID (each machine's in log order): what it derives is what rows
/// applied one at a time in log order would give, and clone candidates still come in log order.
@Suite("SQLite indexer: a chunk applied in CMID order derives what log order would")
struct IndexerKeyOrderTests {
    @Test("interleaved machines, two of them cloned in reverse CMID order: clients, requests, fingerprints and candidates as in log order")
    func interleaved() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        let store = try await contract.open()
        let later = contract.now.addingTimeInterval(60)
        // Log order: zz and aa first seen, then mm, then zz with a second fingerprint (a candidate first), then aa
        // with one, then zz again with its first fingerprint at a later time.
        let inputs = [
            contract.input("zz", fingerprint: "fp-zz-1"), contract.input("aa", fingerprint: "fp-aa-1"), contract.input("mm"),
            contract.input("zz", fingerprint: "fp-zz-2"), contract.input("aa", fingerprint: "fp-aa-2"),
            contract.input("zz", fingerprint: "fp-zz-1", at: later),
        ]
        var decided: [StoredDecision] = []
        for input in inputs { decided += try await store.decide([input], context: contract.context, now: input.request.clientTime) }
        #expect(decided.map(\.decision.currentCount) == [1, 2, 3, 3, 3, 3])
        try await store.catchUp()

        let candidates = store.takeCloneCandidates()
        #expect(candidates.map(\.cmid) == ["zz", "aa"])
        #expect(candidates.first?.fingerprints == ["fp-zz-2", "fp-zz-1"])
        #expect(candidates.first?.time == later)
        let clients = Dictionary(uniqueKeysWithValues: try await store.clients(ClientQuery()).map { ($0.cmid, $0) })
        #expect(clients.mapValues(\.requests) == ["zz": 3, "aa": 2, "mm": 1])
        #expect(clients["zz"]?.fingerprint == "fp-zz-1")
        #expect(clients["aa"]?.fingerprint == "fp-aa-2")
        #expect(clients["zz"]?.lastSeen == later)
        #expect(try await store.counts(now: later)["client"] == 3)
        try await store.close()
    }
}
