import Foundation
import Testing
import TallyCore
import TallyStore
import TallyTestSupport

/// The SQLite log's write-ahead log laid out before a host serves (`serving(at:)`): commits then overwrite it
/// instead of extending it, and nothing committed before or after is lost, also across a reopen (SQLite's
/// recovery reads up to the first zero frame).
@Suite("SQLite store: the log's WAL laid out with zeros before serving")
struct WALPreallocationTests {
    @Test("serving(at:) extends the WAL to a checkpoint cycle; later commits do not make it longer; every decision survives a reopen")
    func laidOut() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        let wal = fixture.temp.path("host.sqlite") + "-wal"
        var store = try await contract.open()
        let before = try await store.decide((1...3).map { contract.input("before-\($0)") }, context: contract.context, now: contract.now)
        let small = fileSize(wal) ?? -1
        #expect(small > 0 && small < 4 << 20)

        try await store.serving(at: "127.0.0.1:1688")
        let laidOut = fileSize(wal) ?? -1
        // 16,384 frames of a 4 KiB page and its 24-byte header at least (a cycle of the checkpoint service).
        #expect(laidOut >= 16_384 * (4_096 + 24))
        // A second call (a restart over a long WAL) writes nothing.
        try await store.serving(at: "127.0.0.1:1688")
        #expect(fileSize(wal) == laidOut)

        var after: [StoredDecision] = []
        for batch in contract.batches((1...40).map { contract.input("after-\($0)") }, of: 5) {
            after += try await store.decide(batch, context: contract.context, now: contract.now)
        }
        #expect(after.map(\.decision.currentCount) == Array(4...43))
        #expect(fileSize(wal) == laidOut)
        try await store.close()

        store = try await contract.open()
        #expect(try await store.counts(now: contract.now)["client"] == 43)
        let events = try await store.events(EventQuery(id: .requestHandled, limit: 100))
        #expect(Set(events.map(\.seq)) == Set((before + after).map(\.seq)))
        let next = try await store.decide([contract.input("next")], context: contract.context, now: contract.now)
        #expect(next.map(\.decision.currentCount) == [44])
        try await store.close()
    }

    @Test("a store reopened without a clean close (the WAL still holds its frames, then zeros) finds every decision")
    func recoveryOverZeros() async throws {
        let fixture = try ActivatedHost()
        let contract = try StoreContract(.sqlite, fixture: fixture)
        let directory = fixture.temp.path("copy")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try await contract.open()
        try await store.serving(at: "127.0.0.1:1688")
        let decided = try await store.decide((1...12).map { contract.input("m-\($0)") }, context: contract.context, now: contract.now)
        // What a crash leaves: the files as they are now, the WAL not checkpointed, copied while the store is open.
        for name in ["host.sqlite", "host.sqlite-wal", "host-index.sqlite", "host-index.sqlite-wal"]
        where FileManager.default.fileExists(atPath: fixture.temp.path(name)) {
            try FileManager.default.copyItem(atPath: fixture.temp.path(name), toPath: directory + "/" + name)
        }
        try await store.close()

        let copy = try SQLiteHostStore(path: directory + "/host.sqlite")
        #expect(try await copy.counts(now: contract.now)["client"] == 12)
        let events = try await copy.events(EventQuery(id: .requestHandled, limit: 100))
        #expect(events.map(\.seq) == decided.map(\.seq))
        try await copy.close()
    }
}
