import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendor

/// The serving host's daily usage report to the real vendor over TLS, and the vendor's view of a report that
/// follows a renewal.
@Suite("Serving host: the daily usage report and its receipt; the first report after a renewal", .serialized)
struct ReportServiceTests {
    @Test("report-sending on: at the host's time of day the next report is sent, its receipt kept, 12303 logged; again the next day")
    func dailyReport() async throws {
        let clock = HostClock.manual(LiveHost.wholeSecondNow())
        try await withOnlineVendor(now: { clock.now() }) { vendor in
            let host = try await ServingOnlineHost(vendor, clock: clock)
            var rounds = host.runtime.reports.rounds.makeAsyncIterator()
            // Machines ask today; the report of today can be sent once the day is over.
            try RenewalServiceTests.reachThreshold(host)
            let schedule = ReportSchedule(hostID: host.hostID)
            let tomorrow = Date(timeIntervalSince1970: Double(CountWindow.day(of: clock.now()) + 1) * 86_400)
            let sendAt = schedule.next(after: tomorrow)
            #expect(sendAt.timeIntervalSince(tomorrow) >= ReportSchedule.earliest)
            #expect(sendAt.timeIntervalSince(tomorrow) < ReportSchedule.earliest + ReportSchedule.spread)
            host.advance(to: sendAt)
            var round = try #require(await rounds.next())
            // A round at today's time may come first (nothing whole to report then is no failure): skip to the one at sendAt.
            while round.time < sendAt { round = try #require(await rounds.next()) }
            #expect(round.failure == nil, "\(round.message ?? "")")
            #expect(round.acknowledged == [1])
            let writer = UsageReportWriter(directory: host.identity.directory)
            #expect(try writer.receipts()[1] != nil)
            #expect(try writer.unacknowledged().isEmpty)
            #expect(try await host.events(.reportAcknowledged).map { $0.fields["seq"] } == ["1"])
            let summary = try #require(try vendor.authority.reportSummaries().first)
            #expect(summary.latest?.seq == 1)
            #expect(summary.machines.map { "\($0.sku) \($0.peakMachines)" } == ["studio-server 5"])

            // The next day at the same time: report 2.
            let next = try #require(round.next)
            #expect(next.timeIntervalSince(round.time) == 86_400)
            host.advance(to: next)
            let second = try #require(await rounds.next())
            #expect(second.acknowledged == [2])
            #expect(try writer.receipts().keys.sorted() == [1, 2])
            #expect(try await host.events(.reportAcknowledged).map { $0.fields["seq"] } == ["1", "2"])
            await host.stop()
        }
    }

    @Test("the first report after a renewal covers days before the new certificate began, and is acknowledged")
    func reportAfterRenewal() async throws {
        let start = Date().addingTimeInterval(-10 * 86_400)
        let fixture = try ActivatedHost(now: start)
        let store = try SQLiteHostStore(path: fixture.host.directory.file("host.sqlite").path)
        // Machines ask on the day after activation; the host renews two days later.
        let renewedAt = start.addingTimeInterval(3 * 86_400)
        try await ReportReceiptTests.sightings(store, host: fixture.host, sku: "studio-pro", machines: 3, daysAgo: 2, now: renewedAt)
        let renewal = try fixture.vendor.renewHost(request: fixture.host.renewalRequest(now: renewedAt), now: renewedAt, origin: .offline)
        let renewed = try fixture.host.installCertificate(renewal.certificate, statements: renewal.statements, now: renewedAt)
        let reported = CountWindow.day(of: renewedAt) - 2
        #expect(CountWindow.day(of: renewed.claims.nbf.date) > reported)
        // The next report, made the day after, covers the days since the sightings: signed with the new certificate.
        let next = try #require(try await UsageReportWriter(directory: fixture.host.directory).writeNext(store: store, now: renewedAt.addingTimeInterval(86_400)))
        #expect(next.claims.usage.contains { $0.day == UsageReportWriter.text(day: reported) && $0.machines == 3 })
        let acknowledged = try fixture.vendor.acknowledgeReport(next.report, now: renewedAt.addingTimeInterval(86_400), origin: .offline)
        #expect(acknowledged.claims.seq == 1)
        // A day before the host was first certified is still refused.
        let early = UsageReportAudit.audit([(name: "r", text: next.report)], roots: try fixture.host.trustedRoots(),
                                           firstCertified: [renewed.claims.sub: renewedAt])
        #expect(early.refused.first?.reason.contains("outside the days its host could count") == true, "\(early.refused)")
        try await store.close()
    }
}
