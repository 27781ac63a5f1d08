import Foundation
import Testing
import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("A copied client state on a live host", .serialized)
struct CopiedStateLiveTests {
    @Test("a state directory copied to another machine re-activates there with a new CMID, and the host counts two machines")
    func copiedStateReactivates() async throws {
        let live = try await LiveHost()
        let profile = try live.fixture.profile()
        let key = try #require(profile.skus.first { $0.id == "studio-server" }?.setupKey)
        let temp = TemporaryDirectory()
        let original = TallyClient(stateDirectory: temp.path("original"), identity: MachineIdentity(machineID: "machine-a", name: "a"), profile: profile)
        try original.installKey(key, now: live.clock.now())
        try original.setHost("127.0.0.1:\(live.port)")
        let first = try original.activate(now: live.clock.now())
        #expect(first.result == .countTooLow)
        #expect(first.hostCount == 1)

        // Clone the whole state directory onto "another machine": same files, another machine id.
        try FileManager.default.copyItem(atPath: temp.path("original"), toPath: temp.path("clone"))
        let clone = TallyClient(stateDirectory: temp.path("clone"), identity: MachineIdentity(machineID: "machine-b", name: "b"), profile: profile)
        let cloned = try clone.activate(now: live.clock.now())
        #expect(cloned.cmid != first.cmid)
        #expect(cloned.hostCount == 2)
        #expect(try clone.status(now: live.clock.now()).cmid == cloned.cmid)
        // The original keeps its CMID.
        #expect(try original.status(now: live.clock.now()).cmid == first.cmid)
        await live.stop()
        let clients = try await SQLiteHostStore(path: live.fixture.host.directory.file(HostRuntime.storeFile).path).clients(ClientQuery())
        #expect(Set(clients.map(\.cmid)) == [first.cmid, cloned.cmid])
    }
}
