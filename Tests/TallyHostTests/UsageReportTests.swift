import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendor

@Suite("Usage reports: host-signed, chained, verified by the vendor", .serialized)
struct UsageReportTests {
    static func day(_ date: Date) -> String { UsageReportWriter.text(day: CountWindow.day(of: date)) }

    @Test("a report round trip: distinct machines per SKU and class per day, seq and prv chained, totals at the vendor")
    func roundTrip() async throws {
        let start = LiveHost.wholeSecondNow()
        let clock = HostClock.manual(start)
        let host = try await LiveHost(fixture: try ActivatedHost(now: start), clock: clock)
        defer { Task { await host.stop() } }
        let machines = (0..<3).map { LiveHost.Machine(name: "pc-\($0)") }
        for machine in machines { _ = try host.activate(machine) }
        _ = try host.activate(machines[0])  // asking twice on one day is one machine
        _ = try host.activate(LiveHost.Machine(), sku: "studio-server")
        clock.advance(by: 86_400)
        for machine in machines.prefix(2) { _ = try host.activate(machine) }

        let writer = UsageReportWriter(directory: host.fixture.host.directory)
        let temp = host.fixture.temp
        let first = try await writer.write(from: Self.day(start), to: Self.day(start), output: temp.url.appendingPathComponent("r1.jwt"),
                                     store: host.runtime.store, now: clock.now())
        #expect(first.seq == 1)
        #expect(first.prv == "")
        #expect(first.usage == [UsageReportClaims.DayUsage(day: Self.day(start), sku: "studio-pro", class: "client", machines: 3),
                                UsageReportClaims.DayUsage(day: Self.day(start), sku: "studio-server", class: "server", machines: 1)])
        let second = try await writer.write(from: Self.day(clock.now()), to: Self.day(clock.now()), output: temp.url.appendingPathComponent("r2.jwt"),
                                      store: host.runtime.store, now: clock.now())
        let firstText = try String(contentsOf: temp.url.appendingPathComponent("r1.jwt"), encoding: .utf8)
        #expect(second.seq == 2)
        #expect(second.prv == VerifiedUsageReport.hash(firstText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(second.usage.map(\.machines) == [2])
        #expect(try writer.chain().seq == 2)

        let files = try ["r1.jwt", "r2.jwt"].map { ($0, try String(contentsOf: temp.url.appendingPathComponent($0), encoding: .utf8)) }
        let audit = UsageReportAudit.audit(files, roots: try host.fixture.roots())
        #expect(audit.clean, "\(audit.findings) \(audit.refused)")
        #expect(audit.reports.map(\.seq) == [1, 2])
        #expect(audit.totals == [UsageReportAudit.Total(sku: "studio-pro", productClass: "client", peakMachines: 3, machineDays: 5, days: 2),
                                 UsageReportAudit.Total(sku: "studio-server", productClass: "server", peakMachines: 1, machineDays: 1, days: 1)])
    }

    @Test("a tampered report is refused; a missing report is a gap; an edited chain is broken; a second key pair is flagged")
    func refusals() async throws {
        let start = LiveHost.wholeSecondNow()
        let clock = HostClock.manual(start)
        let fixture = try ActivatedHost(now: start)
        let host = try await LiveHost(fixture: fixture, clock: clock)
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine())
        let writer = UsageReportWriter(directory: fixture.host.directory)
        var texts: [String] = []
        for index in 1...3 {
            let url = fixture.temp.url.appendingPathComponent("r\(index).jwt")
            _ = try await writer.write(from: Self.day(start), to: Self.day(start), output: url, store: host.runtime.store, now: clock.now())
            texts.append(try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let roots = try fixture.roots()

        // Raise the machine count in the payload: the signature no longer matches.
        let parts = texts[0].split(separator: ".").map(String.init)
        var payload = String(decoding: try #require(Base64URL.decode(parts[1])), as: UTF8.self)
        payload = payload.replacingOccurrences(of: "\"machines\":1", with: "\"machines\":900")
        let tampered = [parts[0], Base64URL.encode(Data(payload.utf8)), parts[2]].joined(separator: ".")
        let refused = UsageReportAudit.audit([("tampered.jwt", tampered)], roots: roots)
        #expect(refused.refused.map(\.file) == ["tampered.jwt"])
        #expect(refused.refused.first?.reason.contains("badSignature") == true)
        #expect(refused.totals.isEmpty)
        #expect(!refused.clean)

        // Another vendor's roots: refused as an unknown signer.
        let stranger = try ActivatedHost()
        #expect(UsageReportAudit.audit([("r1.jwt", texts[0])], roots: try stranger.roots()).refused.count == 1)

        let gap = UsageReportAudit.audit([("r1.jwt", texts[0]), ("r3.jwt", texts[2])], roots: roots)
        #expect(gap.findings.map(\.kind) == [.gap])
        #expect(gap.findings.first?.message.contains("2…2") == true)

        // A host restored from an old backup of its state directory writes a second report numbered 2.
        try fixture.host.directory.writeJSON(UsageReportWriter.Chain(seq: 1, hash: "not-the-hash-of-report-1", to: nil), to: UsageReportWriter.chainFile)
        let forked = fixture.temp.url.appendingPathComponent("forked.jwt")
        _ = try await writer.write(from: Self.day(start), to: Self.day(start), output: forked, store: host.runtime.store, now: clock.now())
        let broken = UsageReportAudit.audit([("r1.jwt", texts[0]), ("forked.jwt", try String(contentsOf: forked, encoding: .utf8))], roots: roots)
        #expect(broken.findings.map(\.kind) == [.brokenChain])
        let duplicate = UsageReportAudit.audit([("r1.jwt", texts[0]), ("r2.jwt", texts[1]), ("forked.jwt", try String(contentsOf: forked, encoding: .utf8))],
                                               roots: roots)
        #expect(duplicate.findings.contains { $0.kind == .duplicateSeq })

        // The same host id re-keyed (its state copied and activated again): reports under two key pairs.
        await host.stop()
        _ = try fixture.host.installKey(fixture.hostKey.description, vendorRoots: nil, newIdentity: true, now: start)
        let renewed = try fixture.vendor.activateHost(request: try fixture.host.activationRequest(now: start), now: start)
        _ = try fixture.host.installCertificate(renewed.certificate, now: start)
        let store = try SQLiteHostStore(path: fixture.host.directory.file(HostRuntime.storeFile).path)
        let rekeyed = fixture.temp.url.appendingPathComponent("rekeyed.jwt")
        _ = try await writer.write(from: Self.day(start), to: Self.day(start), output: rekeyed, store: store, now: clock.now())
        let twoKeys = UsageReportAudit.audit([("r1.jwt", texts[0]), ("rekeyed.jwt", try String(contentsOf: rekeyed, encoding: .utf8))], roots: roots)
        #expect(twoKeys.findings.contains { $0.kind == .severalKeyPairs && $0.hostId == (try? fixture.host.info().hostID) })
    }

    @Test("a report needs days in order and an activated host")
    func badInput() async throws {
        let fixture = try ActivatedHost()
        let store = try SQLiteHostStore(path: fixture.temp.path("s.sqlite"))
        let writer = UsageReportWriter(directory: fixture.host.directory)
        let out = fixture.temp.url.appendingPathComponent("r.jwt")
        await #expect(throws: TallyError.self) { try await writer.write(from: "2026-11-02", to: "2026-11-01", output: out, store: store) }
        await #expect(throws: TallyError.self) { try await writer.write(from: "yesterday", to: "2026-11-01", output: out, store: store) }
        try FileManager.default.removeItem(at: fixture.host.directory.file("certificate.jwt"))
        await #expect(throws: TallyError.self) { try await writer.write(from: "2026-11-01", to: "2026-11-01", output: out, store: store) }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try writer.chain().seq == 0)
    }
}
