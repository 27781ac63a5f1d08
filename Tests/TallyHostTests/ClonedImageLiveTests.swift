import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Cloned images: one CMID from several machines (event 12300)", .serialized)
struct ClonedImageLiveTests {
    func clones(_ host: LiveHost) throws -> [StoredEvent] {
        host.runtime.clones.flush()
        return try host.runtime.store.events(since: nil, afterSeq: nil, id: .clonedImage, limit: 100)
    }

    @Test("a second fingerprint for a CMID is answered as usual, counted once, and reported once with the CMID and both machines")
    func reportedOnce() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        var golden = LiveHost.Machine(name: "golden")
        let first = try host.activate(golden)
        #expect(first.claims.cur == 1)
        #expect(try clones(host).isEmpty)

        var copy = golden
        copy.fingerprint = MachineFingerprint.compute(machineID: "copy-1", productUUID: "uuid-copy-1")
        copy.name = "copy-1"
        let cloned = try host.activate(copy)
        #expect(cloned.claims.res == .countTooLow)
        #expect(cloned.claims.cur == 1)
        #expect(host.runtime.service.counts()["client"]?.current == 1)

        let reported = try clones(host)
        #expect(reported.count == 1)
        let fields = try #require(reported.first?.event.fields)
        #expect(fields["cmid"] == golden.cmid)
        #expect(Set((fields["machines"] ?? "").components(separatedBy: ", ")) == ["golden", "copy-1"])
        #expect(Set((fields["fingerprints"] ?? "").split(separator: ",").map(String.init)) == [golden.fingerprint, copy.fingerprint])
        #expect(fields["machineCount"] == "2")
        #expect(fields["remedy"]?.contains("tally client rearm") == true)
        #expect(fields["remedy"]?.contains("generalise the image") == true)

        // Both machines keep asking: nothing new, no new event.
        _ = try host.activate(golden)
        _ = try host.activate(copy)
        _ = try host.activate(golden)
        #expect(try clones(host).count == 1)

        // A third machine from the image is one more event, naming all three.
        golden.fingerprint = MachineFingerprint.compute(machineID: "copy-2", productUUID: nil)
        golden.name = "copy-2"
        _ = try host.activate(golden)
        let again = try clones(host)
        #expect(again.count == 2)
        #expect(again.last?.event.fields["machineCount"] == "3")
        #expect(again.last?.event.fields["newFingerprints"] == golden.fingerprint)
        #expect(host.runtime.service.counts()["client"]?.current == 1)

        // After a restart the same clones are not reported again.
        try await host.restart()
        _ = try host.activate(copy)
        _ = try host.activate(golden)
        #expect(try clones(host).count == 2)
        #expect(host.runtime.service.counts()["client"]?.current == 1)
    }

    @Test("fingerprints outside the 30-day window do not make a clone")
    func outsideWindow() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        var machine = LiveHost.Machine(name: "old")
        _ = try host.activate(machine)
        host.clock.advance(by: 31 * 86_400)
        machine.fingerprint = MachineFingerprint.compute(machineID: "reinstalled", productUUID: nil)
        machine.name = "reinstalled"
        _ = try host.activate(machine)
        #expect(try clones(host).isEmpty)
    }

    @Test("two machines with different CMIDs and fingerprints are no clone; the metric counts reported clones")
    func distinctMachines() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<5 { _ = try host.activate(LiveHost.Machine()) }
        #expect(try clones(host).isEmpty)
        var clone = LiveHost.Machine(name: "a")
        _ = try host.activate(clone)
        clone.fingerprint = MachineFingerprint.compute(machineID: "b", productUUID: nil)
        _ = try host.activate(clone)
        #expect(try clones(host).count == 1)
        #expect(host.runtime.metrics.exposition(counts: [:], certificateExpires: nil).contains("tally_cloned_images_total 1"))
    }
}
