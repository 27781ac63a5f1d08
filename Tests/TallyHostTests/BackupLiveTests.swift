import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Backup while serving, then restore", .serialized)
struct BackupLiveTests {
    /// The files a restore copies besides the store: the host's identity, certificate and settings.
    static let identityFiles = ["host.json", "host-key", "host-private.jwk", "vendor-roots.json", "certificate.jwt"]

    @Test("a backup taken under activations is one consistent snapshot; restored into a fresh host directory it serves the same counts")
    func backupRestore() async throws {
        let host = try await LiveHost(clock: HostClock())
        defer { Task { await host.stop() } }
        for index in 0..<10 { _ = try host.activate(LiveHost.Machine(name: "before-\(index)")) }
        let backupPath = host.fixture.temp.path("backup.sqlite")

        // Activations keep arriving on other threads while the backup runs.
        let port = host.port
        let roots = try host.fixture.roots()
        let writers = Task.detached { () -> Int in
            var answered = 0
            for index in 0..<60 {
                let machine = LiveHost.Machine(name: "during-\(index)")
                let (body, _) = LiveHost.body(machine, sku: "studio-pro", clientTime: Date())
                if let response = try? RawHTTPConnection(port: port).post(ProtocolPaths.activate, body: body, keepAlive: false), response.status == 200 {
                    answered += 1
                }
            }
            _ = roots
            return answered
        }
        let files = try await host.runtime.store.backup(to: backupPath)
        #expect(files == [backupPath, SQLiteHostStore.indexPath(forLog: backupPath)])
        let answered = await writers.value
        #expect(answered == 60)

        let backup = try SQLiteHostStore(path: backupPath)
        let counts = try await backup.tableCounts()
        // Consistent: every stored request has its event and its total, every client its sighting; no machine was
        // seen with two fingerprints, so none is tracked.
        let clients = try #require(counts["clients"])
        #expect(clients >= 10 && clients <= 70)
        #expect(counts["sightings"] == clients)
        #expect(counts["fingerprints"] == 0)
        #expect(counts["events"] == clients)
        #expect(try await backup.totals().values.reduce(0, +) == clients)
        await #expect(throws: TallyError.self) { try await host.runtime.store.backup(to: backupPath) }

        // Restore: a fresh state directory with the identity files and the backup as its store.
        let restored = StateDirectory(host.fixture.temp.path("restored"))
        try restored.create()
        for name in Self.identityFiles {
            try FileManager.default.copyItem(at: host.fixture.host.directory.file(name), to: restored.file(name))
        }
        try FileManager.default.copyItem(atPath: backupPath, toPath: restored.file(HostRuntime.storeFile).path)
        try FileManager.default.copyItem(atPath: SQLiteHostStore.indexPath(forLog: backupPath),
                                         toPath: SQLiteHostStore.indexPath(forLog: restored.file(HostRuntime.storeFile).path))
        let runtime = try await HostRuntime.start(directory: restored, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", logger: LiveHost.quietLogger, threads: 1)
        let status = try TallyJSON.decode(AdminStatus.self, from: try AdminHTTP.request("/api/status", port: runtime.admin!.address.port).body)
        await runtime.shutdown()
        #expect(status.live["client"]?.currentCount == clients)
        #expect(status.report.totalRequests == clients)
        #expect(status.clients == clients)
        #expect(try await SQLiteHostStore(path: restored.file(HostRuntime.storeFile).path).tableCounts() == counts)

        // The live host went on: it holds everything, the backup a prefix of it.
        #expect(try await host.runtime.store.tableCounts()["clients"] == 70)
    }
}
