import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("serve refuses a host key others may read", .serialized)
struct HostKeyModeTests {
    @Test("the decision is the mode: 0600 passes, anything group or others may read or write is refused")
    func decision() {
        #expect(StateDirectory.secretModeProblem(0o100600) == nil)
        #expect(StateDirectory.secretModeProblem(0o100400) == nil)
        for mode: mode_t in [0o100644, 0o100640, 0o100604, 0o100660, 0o100602] {
            #expect(StateDirectory.secretModeProblem(mode) != nil, "\(String(mode, radix: 8))")
        }
    }

    @Test("a host-key or private-key file made readable by others stops the host from starting (event 12291), as activate refuses it; 0600 again starts it", arguments: ["host-key", "host-private.jwk"])
    func serveRefuses(_ name: String) async throws {
        let fixture = try ActivatedHost()
        let path = fixture.host.directory.file(name).path
        // Root (as CI runs) reads the file whatever its mode: what is tested is that the host decides by the mode.
        #expect(chmod(path, 0o644) == 0)
        do {
            let host = try await LiveHost(fixture: fixture)
            await host.stop()
            Issue.record("the host started with \(name) at mode 0644")
        } catch let error as TallyError {
            #expect(error.code == .accessDenied)
            #expect(error.message.contains(name))
            #expect(error.remedy.contains("chmod 600"))
        }
        let store = try SQLiteHostStore(path: fixture.host.directory.file(HostRuntime.storeFile).path)
        let failures = try await store.events(EventQuery(id: .hostStartFailed))
        #expect(failures.count == 1)
        #expect(failures.first?.event.fields["message"]?.contains(name) == true)
        try await store.close()
        #expect(chmod(path, 0o600) == 0)
        let host = try await LiveHost(fixture: fixture)
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 1)
        await host.stop()
    }
}
