import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Cloned images: one CMID from several machines (event 12300)", .serialized)
struct ClonedImageLiveTests {
    func clones(_ host: LiveHost) async throws -> [StoredEvent] {
        try await host.flushClones()
        return try await host.runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: .clonedImage, limit: 100))
    }

    @Test("a second fingerprint for a CMID is answered as usual, counted once, and reported once with the CMID and both machines")
    func reportedOnce() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        var golden = LiveHost.Machine(name: "golden")
        let first = try host.activate(golden)
        #expect(first.claims.cur == 1)
        #expect(try await clones(host).isEmpty)

        var copy = golden
        copy.fingerprint = MachineFingerprint.compute(machineID: "copy-1", productUUID: "uuid-copy-1")
        copy.name = "copy-1"
        let cloned = try host.activate(copy)
        #expect(cloned.claims.res == .countTooLow)
        #expect(cloned.claims.cur == 1)
        #expect((try await host.count("client")) == 1)

        let reported = try await clones(host)
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
        #expect(try await clones(host).count == 1)

        // A third machine from the image the same day: the CMID was reported today, so it waits for the next day.
        golden.fingerprint = MachineFingerprint.compute(machineID: "copy-2", productUUID: nil)
        golden.name = "copy-2"
        _ = try host.activate(golden)
        #expect(try await clones(host).count == 1)

        // The next day the CMID asks again (from a machine already reported): one more event, naming all three.
        host.clock.advance(by: 86_400)
        _ = try host.activate(copy)
        let again = try await clones(host)
        #expect(again.count == 2)
        #expect(again.last?.event.fields["machineCount"] == "3")
        #expect(again.last?.event.fields["newFingerprints"] == golden.fingerprint)
        #expect(again.last?.event.fields["newMachineCount"] == "1")
        #expect((try await host.count("client")) == 1)

        // After a restart the same clones are not reported again, that day or the next.
        try await host.restart()
        _ = try host.activate(copy)
        _ = try host.activate(golden)
        #expect(try await clones(host).count == 2)
        host.clock.advance(by: 86_400)
        _ = try host.activate(copy)
        _ = try host.activate(golden)
        #expect(try await clones(host).count == 2)
        #expect((try await host.count("client")) == 1)
    }

    @Test("one CMID sent with 100 random fingerprints: one 12300 a day, at most 20 machines named, the total counted")
    func randomFingerprints() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        var machine = LiveHost.Machine()
        func send(_ number: Int) async throws {
            machine.fingerprint = MachineFingerprint.compute(machineID: UUID().uuidString, productUUID: nil)
            machine.name = "scripted-\(number)"
            _ = try host.activate(machine)
            try await host.flushClones()  // each request checked on its own: the worst case for the detector
        }
        for number in 0..<100 { try await send(number) }
        let firstDay = try await clones(host)
        #expect(firstDay.count == 1)
        #expect(firstDay.first?.event.fields["machineCount"] == "2")

        // The next day: one more event for the 99 machines not reported yet, naming 20 of the 101.
        host.clock.advance(by: 86_400)
        for number in 100..<200 { try await send(number) }
        let events = try await clones(host)
        #expect(events.count == 2)
        let fields = try #require(events.last?.event.fields)
        #expect(fields["machineCount"] == "101")
        #expect(fields["newMachineCount"] == "99")
        #expect(fields["listed"] == "20")
        #expect(fields["machines"]?.components(separatedBy: ", ").count == 20)
        #expect(fields["fingerprints"]?.split(separator: ",").count == 20)
        #expect(fields["newFingerprints"]?.split(separator: ",").count == 20)
        // Bounded whatever the number of fingerprints: 20 names of at most 255 characters, 40 fingerprints, the remedy.
        #expect(fields.values.reduce(0) { $0 + $1.utf8.count } < 4096)

        // The dashboard's warning is bounded the same way and counts all 200.
        let day = CountWindow.day(of: host.clock.now())
        let images = try await host.runtime.store.clonedImages(since: day - Intervals.countWindowDays + 1, limit: 20)
        #expect(images.count == 1)
        #expect(images.first?.machines.count == 20)
        #expect(images.first?.machineCount == 200)
        #expect((try await host.count("client")) == 1)
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
        #expect(try await clones(host).isEmpty)
    }

    @Test("two machines with different CMIDs and fingerprints are no clone; the metric counts reported clones")
    func distinctMachines() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<5 { _ = try host.activate(LiveHost.Machine()) }
        #expect(try await clones(host).isEmpty)
        var clone = LiveHost.Machine(name: "a")
        _ = try host.activate(clone)
        clone.fingerprint = MachineFingerprint.compute(machineID: "b", productUUID: nil)
        _ = try host.activate(clone)
        #expect(try await clones(host).count == 1)
        let hostID = try HostIdentity(directory: host.directory).info().hostID
        #expect(host.runtime.metrics.exposition(counts: [:], certificateExpires: nil).contains("tally_cloned_images_total{host=\"\(hostID)\"} 1"))
    }
}
