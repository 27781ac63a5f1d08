import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// What SIGHUP runs (`HostRuntime.reload()`, called by the signal service) on a live host, row by row of the
/// settings table. (`SettingsCLITests` sends the real signal to `tally host serve`; this checks what the running
/// host then uses.)
@Suite("Live host: a reload applies each setting as its row says, reports the rest, and survives a bad file", .serialized)
struct ReloadLiveTests {
    @Test("each row changed alone in settings.json: applied, applied when next used, or kept with 'needs a restart'")
    func everyRow() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let directory = host.fixture.host.directory
        let port = host.port
        for setting in HostSettings.table {
            let running = host.runtime.state.settings
            var changed = running
            let value = setting.example != setting.value(in: running) ? setting.example : setting.defaultValue
            try changed.set(setting.name, to: value)
            try changed.save(to: directory)
            let outcome = try await host.runtime.reload()
            let applies = setting.applies(from: running, to: changed)
            switch applies {
            case .onSIGHUP:
                #expect(outcome.settings.applied == [setting.name] && outcome.settings.needsRestart.isEmpty, "\(setting.name): \(outcome.settings)")
                #expect(setting.value(in: host.runtime.state.settings) == value, "\(setting.name) was not applied")
            case .whenUsed:
                #expect(outcome.settings.appliedWhenUsed.map(\.name) == [setting.name], "\(setting.name): \(outcome.settings)")
                #expect(setting.value(in: host.runtime.state.settings) == value)
            case .atRestart:
                #expect(outcome.settings.needsRestart == [setting.name] && outcome.settings.applied.isEmpty, "\(setting.name): \(outcome.settings)")
                #expect(setting.value(in: host.runtime.state.settings) == setting.value(in: running), "\(setting.name) changed before a restart")
                // Reported again by the next reload, until a restart.
                #expect(try await host.runtime.reload().settings.needsRestart == [setting.name])
            }
        }
        // What was applied is what the host uses: the next answer has the intervals of the file; the port is the same.
        let answer = try host.activate(LiveHost.Machine())
        #expect(answer.claims.ri == host.runtime.state.settings.renewalInterval && answer.claims.ri != HostSettings().renewalInterval)
        #expect(answer.claims.ai == host.runtime.state.settings.activationInterval)
        #expect(host.port == port)
    }

    @Test("a settings file that does not load: the reload fails with the setting's name, the host keeps its settings and serves")
    func badFile() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let before = host.runtime.state.settings
        try host.fixture.host.directory.write(Data(#"{"renewalInterval": 5, "activationInterval": 60}"#.utf8), to: "settings.json")
        do {
            _ = try await host.runtime.reload()
            Issue.record("a settings file with renewal-interval 5 was reloaded")
        } catch let error as TallyError {
            #expect(error.message.contains("renewal-interval"), "\(error.message)")
        }
        #expect(host.runtime.state.settings == before)
        #expect(try host.activate(LiveHost.Machine()).claims.ai == before.activationInterval)
    }
}
