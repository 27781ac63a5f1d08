import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Live host: a full or read-only store gives a clear error, counts nothing and recovers", .serialized)
struct StoreFailureLiveTests {
    /// Posts one activation and returns the status and the body's code (for errors) or result (for answers).
    static func post(_ host: LiveHost) throws -> (Int, String) {
        let machine = LiveHost.Machine(name: String(repeating: "m", count: 200))
        let (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: host.clock.now())
        let response = try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        if response.status == 200 {
            return (200, try host.result(ofAnswer: response.body, nonce: nonce, machine: machine).claims.res.hex)
        }
        let json = try response.json()
        return (response.status, "\(json["code"] as? String ?? "") \(json["message"] as? String ?? "")")
    }

    @Test("a full disk (max_page_count): 503 0xC0A70006 naming the cause, the count unchanged; lifting the cap recovers")
    func fullStore() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try Self.post(host).0 == 200)
        try host.sqlite.setMaxPageCount(try host.sqlite.pageCount())
        var failure: (Int, String)?
        for _ in 0..<2000 {
            let answer = try Self.post(host)
            if answer.0 != 200 {
                failure = answer
                break
            }
        }
        let (status, text) = try #require(failure)
        #expect(status == 503)
        #expect(text.hasPrefix("0xC0A70006"))
        #expect(text.lowercased().contains("full"))
        let counted = try #require((try await host.count("client")))
        // A second refused request changes nothing either.
        #expect(try Self.post(host).0 == 503)
        #expect((try await host.count("client")) == counted)
        try host.sqlite.setMaxPageCount(nil)
        #expect(try Self.post(host).0 == 200)
        #expect((try await host.count("client")) == counted + 1)
        // A restart reads the same count from the store.
        try await host.restart()
        #expect(try await host.count("client") == counted + 1)
    }

    @Test("a store that cannot be written: 503 naming it, nothing counted; writable again recovers")
    func readOnlyStore() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try Self.post(host).0 == 200)
        try host.sqlite.setQueryOnly(true)
        let (status, text) = try Self.post(host)
        #expect(status == 503)
        #expect(text.hasPrefix("0xC0A70006"))
        #expect(text.lowercased().contains("readonly") || text.lowercased().contains("read-only") || text.lowercased().contains("read only"))
        #expect((try await host.count("client")) == 1)
        try host.sqlite.setQueryOnly(false)
        #expect(try Self.post(host).0 == 200)
        #expect((try await host.count("client")) == 2)
    }
}

@Suite("Live host: WAL checkpoints off the commit path", .serialized)
struct CheckpointLiveTests {
    @Test("while serving the writer never checkpoints (a service does); answers are stored and a restart finds the count")
    func checkpointService() async throws {
        let host = try await LiveHost()
        for _ in 0..<60 { _ = try host.activate(LiveHost.Machine()) }
        // The checkpoint service turns the writer's own checkpoints off when it starts.
        var pages = try host.sqlite.autocheckpointPages()
        for _ in 0..<1000 where pages != 0 {
            await Task.yield()
            pages = try host.sqlite.autocheckpointPages()
        }
        #expect(pages == 0)
        // Serving, the log's WAL is laid out to a cycle of the checkpoint service (16,384 frames of 4 KiB pages);
        // a graceful stop empties it, and the next start lays it out again.
        let wal = host.fixture.host.directory.file(HostRuntime.storeFile).path + "-wal"
        // No file (after a stop) counts as empty.
        func walSize() -> Int { fileSize(wal) ?? 0 }
        #expect(walSize() >= 16_384 * 4_120)
        try await host.restart()
        #expect(walSize() >= 16_384 * 4_120)
        #expect(try await host.count("client") == 60)
        await host.stop()
        #expect(walSize() == 0)
        let store = try SQLiteHostStore(path: host.fixture.host.directory.file(HostRuntime.storeFile).path)
        #expect(try store.autocheckpointPages() == 1000)
        #expect(try await store.totals().values.reduce(0, +) == 60)
    }
}

@Suite("Host settings from a hand-edited file")
struct SettingsFileTests {
    @Test("an out-of-range value in settings.json stops the host with a clear error; tally host set repairs it")
    func outOfRange() async throws {
        let fixture = try ActivatedHost()
        let file = fixture.host.directory.file("settings.json")
        try Data(#"{"idleTimeoutSeconds": 10000000000, "maxConnections": -1}"#.utf8).write(to: file)
        do {
            _ = try HostSettings.load(from: fixture.host.directory)
            Issue.record("an out-of-range settings file was accepted")
        } catch let error as TallyError {
            #expect(error.code == .usageError)
            #expect(error.message.contains("settings.json"))
        }
        var repaired = try HostSettings.load(from: fixture.host.directory, validating: false)
        try repaired.set("idle-timeout", to: "60")
        try repaired.set("max-connections", to: "100")
        try repaired.save(to: fixture.host.directory)
        let host = try await LiveHost(fixture: fixture)
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 1)
        await host.stop()
    }
}
