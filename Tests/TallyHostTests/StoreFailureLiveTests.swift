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
        let (body, _) = LiveHost.body(LiveHost.Machine(name: String(repeating: "m", count: 200)), sku: "studio-pro", clientTime: host.clock.now())
        let response = try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        if response.status == 200 {
            let token = try TallyJSON.decode(ActivationResponseBody.self, from: response.body).response
            return (200, try JWS.parse(token, expecting: .response).decodePayload(ResponseClaims.self).res.hex)
        }
        let json = try response.json()
        return (response.status, "\(json["code"] as? String ?? "") \(json["message"] as? String ?? "")")
    }

    @Test("a full disk (max_page_count): 503 0xC0A70006 naming the cause, the count unchanged; lifting the cap recovers")
    func fullStore() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try Self.post(host).0 == 200)
        try host.runtime.store.setMaxPageCount(try host.runtime.store.pageCount())
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
        let counted = try #require(host.runtime.service.counts()["client"]?.current)
        // A second refused request changes nothing either.
        #expect(try Self.post(host).0 == 503)
        #expect(host.runtime.service.counts()["client"]?.current == counted)
        try host.runtime.store.setMaxPageCount(nil)
        #expect(try Self.post(host).0 == 200)
        #expect(host.runtime.service.counts()["client"]?.current == counted + 1)
        let stored = try host.runtime.store.loadCounts(now: host.clock.now()).count(class: "client", at: host.clock.now())
        #expect(stored == counted + 1)
    }

    @Test("a store that cannot be written: 503 naming it, nothing counted; writable again recovers")
    func readOnlyStore() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try Self.post(host).0 == 200)
        try host.runtime.store.setQueryOnly(true)
        let (status, text) = try Self.post(host)
        #expect(status == 503)
        #expect(text.hasPrefix("0xC0A70006"))
        #expect(text.lowercased().contains("readonly") || text.lowercased().contains("read-only") || text.lowercased().contains("read only"))
        #expect(host.runtime.service.counts()["client"]?.current == 1)
        try host.runtime.store.setQueryOnly(false)
        #expect(try Self.post(host).0 == 200)
        #expect(host.runtime.service.counts()["client"]?.current == 2)
    }
}

@Suite("Live host: background WAL checkpoints", .serialized)
struct BackgroundCheckpointLiveTests {
    @Test("with wal-checkpoint background the writer never checkpoints, answers are stored, and a restart finds the count")
    func backgroundMode() async throws {
        var settings = HostSettings()
        try settings.set("wal-checkpoint", to: "background")
        let host = try await LiveHost(settings: settings)
        #expect(try host.runtime.store.autocheckpointPages() == 0)
        for _ in 0..<60 { _ = try host.activate(LiveHost.Machine()) }
        try await host.restart()
        #expect(host.runtime.service.counts()["client"]?.current == 60)
        await host.stop()
        let store = try SQLiteHostStore(path: host.fixture.host.directory.file(HostRuntime.storeFile).path)
        #expect(try store.autocheckpointPages() == 1000)
        #expect(try store.totals().values.reduce(0, +) == 60)
    }

    @Test("wal-checkpoint takes only commit or background")
    func setting() throws {
        var settings = HostSettings()
        #expect(settings.walCheckpoint == "commit")
        #expect(throws: TallyError(.usageError, "")) { try settings.set("wal-checkpoint", to: "sometimes") }
        #expect(settings.walCheckpoint == "commit")
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
