import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Report retention", .serialized)
struct ReportRetentionTests {
    static func input(_ cmid: String, at time: Date) -> ActivationInput {
        ActivationInput(request: PolicyRequest(cmid: cmid, sku: "studio-pro", fingerprint: "fpr-\(cmid)", clientTime: time),
                        machine: cmid, licenseStatus: "Initial grace", address: "192.0.2.\(cmid.count)")
    }

    @Test("clients and sightings older than report-retention-days go at the sweep, the count stays; a report reaching further back is refused, saying why")
    func retention() async throws {
        let start = LiveHost.wholeSecondNow()
        let today = CountWindow.day(of: start)
        let longAgo = start.addingTimeInterval(-450 * 86_400), yesterday = start.addingTimeInterval(-86_400)
        // Certificates valid then and now (the store keeps whatever the decisions were taken with).
        let old = try ActivatedHost(now: longAgo)
        let host = try ActivatedHost(now: start.addingTimeInterval(-20 * 86_400))
        var settings = HostSettings()
        settings.reportRetentionDays = 400
        try settings.save(to: host.host.directory)
        let store = try SQLiteHostStore(path: host.host.directory.file(HostRuntime.storeFile).path)
        func context(_ fixture: ActivatedHost) -> DecisionContext {
            DecisionContext(certificate: fixture.certificate.claims, intervals: ClientIntervals())
        }
        _ = try await store.decide(["old-1", "old-2", "returning"].map { Self.input($0, at: longAgo) }, context: context(old), now: longAgo)
        _ = try await store.decide(["returning", "recent"].map { Self.input($0, at: yesterday) }, context: context(host), now: yesterday)
        #expect(try await store.tableCounts()["clients"] == 4)
        #expect(try await store.tableCounts()["sightings"] == 5)

        let clock = HostClock.manual(start)
        let sweep = EventRetention(store: store, directory: host.host.directory, clock: clock, logger: LiveHost.quietLogger)
        try await sweep.sweep()
        // The two machines last seen 450 days ago are gone, with every sighting of that day.
        #expect(try await store.tableCounts()["clients"] == 2)
        #expect(try await store.tableCounts()["sightings"] == 2)
        #expect(try await store.clients(ClientQuery()).map(\.cmid).sorted() == ["recent", "returning"])
        #expect(try await store.usage(fromDay: today - 500, toDay: today).map(\.day) == [today - 1])
        #expect(try await store.newMachines(fromDay: today - 500, toDay: today, busiest: 10).map(\.day) == [today - 1])
        #expect(try await store.counts(now: start)["client"] == 2)
        // A machine forgotten that asks again is a new machine.
        let back = try await store.decide([Self.input("old-1", at: start)], context: context(host), now: start)
        #expect(back.first?.decision.currentCount == 3)
        #expect(try await store.newMachines(fromDay: today, toDay: today, busiest: 10).first?.machines == 1)

        // The report: from 450 days ago refused, saying why; from the oldest day kept, written.
        let writer = UsageReportWriter(directory: host.host.directory)
        let out = host.temp.url.appendingPathComponent("report.jwt")
        let oldest = EventRetention.firstReportDay(now: start, days: 400)
        #expect(oldest == today - 400)
        do {
            _ = try await writer.write(from: UsageReportWriter.text(day: today - 450), to: UsageReportWriter.text(day: today), output: out, store: store, now: start)
            Issue.record("a report beyond the retention was written")
        } catch let error as TallyError {
            #expect(error.code == .reportBeyondRetention)
            #expect(error.message.contains("report-retention-days"))
            #expect(error.message.contains(UsageReportWriter.text(day: oldest)))
            #expect(error.remedy.contains("tally host set report-retention-days"))
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(try writer.chain().seq == 0)
        let claims = try await writer.write(from: UsageReportWriter.text(day: oldest), to: UsageReportWriter.text(day: today), output: out, store: store, now: start)
        #expect(claims.usage.map(\.machines) == [2, 1])
        try await store.close()
    }

    @Test("the defaults: 400 days of clients and sightings, never less than the count window")
    func defaults() throws {
        #expect(HostSettings().reportRetentionDays == 400)
        #expect(EventRetention.firstReportDay(now: Date(timeIntervalSince1970: 100 * 86_400), days: 5) == 100 - Intervals.countWindowDays)
        var settings = HostSettings()
        #expect(throws: TallyError.self) { try HostSettings.requireSetting(named: "report-retention-days").set("30", in: &settings) }
    }
}
