import Foundation
import Testing
import TallyCore
import TallyHost
import TallyTestSupport
import TallyVendor

/// Reports forged with the host's own private key, which the licensee holds: each verifies as a signature, and
/// `verify-report` refuses what it says.
@Suite("Usage reports signed by the host key but impossible")
struct UsageReportPlausibilityTests {
    /// 2026-01-01T00:00:00Z: the host is first certified then, for a year.
    static let epoch = Date(timeIntervalSince1970: 1_767_225_600)
    static let day: TimeInterval = 86_400

    /// A report signed with the host's key under its real certificate.
    static func forge(_ fixture: ActivatedHost, from: String = "2026-01-01", to: String = "2026-01-10",
                      usage: [UsageReportClaims.DayUsage], madeAt: Date = epoch + 10 * day, new: [NewMachinesDay]? = nil) throws -> String {
        let claims = UsageReportClaims(iss: fixture.certificate.claims.sub, from: from, to: to, usage: usage, seq: 1, prv: "", iat: madeAt, new: new)
        return try VerifiedUsageReport.issue(claims, hostKey: fixture.host.signingKey().privateKey, certificate: fixture.certificate)
    }

    static func usage(_ day: String, _ sku: String = "studio-pro", _ productClass: String = "client", _ machines: Int = 30) -> UsageReportClaims.DayUsage {
        UsageReportClaims.DayUsage(day: day, sku: sku, class: productClass, machines: machines)
    }

    static func audit(_ fixture: ActivatedHost, _ report: String) throws -> UsageReportAudit {
        UsageReportAudit.audit([("forged.jwt", report)], roots: try fixture.roots(),
                               firstCertified: try fixture.vendor.ledger().firstCertification)
    }

    @Test("a plausible report from the same key verifies (the checks below are about content, not the signature)")
    func plausible() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let audit = try Self.audit(fixture, Self.forge(fixture, usage: [Self.usage("2026-01-01"), Self.usage("2026-01-10", "studio-server", "server", 5)]))
        #expect(audit.clean, "\(audit.refused)")
        #expect(audit.reports.count == 1)
    }

    @Test("days after the report was made are refused")
    func futureDays() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let report = try Self.forge(fixture, to: "2026-03-31", usage: [Self.usage("2026-01-05"), Self.usage("2026-03-01", "studio-pro", "client", 500)])
        let audit = try Self.audit(fixture, report)
        #expect(audit.reports.isEmpty)
        #expect(audit.refused.first?.reason.contains("2026-03-01, after the report was made (2026-01-11)") == true, "\(audit.refused)")
        #expect(audit.totals.isEmpty)
        #expect(!audit.clean)
    }

    @Test("days before the host was first certified, or after its certificate ended, are refused")
    func daysOutsideTheCertificate() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let before = try Self.audit(fixture, Self.forge(fixture, from: "2025-12-01", usage: [Self.usage("2025-12-20")]))
        #expect(before.refused.first?.reason.contains("2025-12-20, outside the days its host could count (2026-01-01") == true, "\(before.refused)")
        // Without the ledger the certificate's own start is the bound.
        let withoutLedger = UsageReportAudit.audit([("forged.jwt", try Self.forge(fixture, from: "2025-12-01", usage: [Self.usage("2025-12-20")]))],
                                                   roots: try fixture.roots())
        #expect(withoutLedger.refused.first?.reason.contains("its certificate's validity") == true)
        // Made just before the certificate ended, naming a day after it.
        let after = try Self.audit(fixture, Self.forge(fixture, from: "2026-12-01", to: "2027-01-31", usage: [Self.usage("2027-01-02")],
                                                       madeAt: Self.epoch + 364 * Self.day))
        #expect(after.refused.count == 1)
    }

    @Test("SKUs the certificate does not list, or under another class, are refused")
    func skusOutsideTheCertificate() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let foreign = try Self.audit(fixture, Self.forge(fixture, usage: [Self.usage("2026-01-02", "other-product", "client")]))
        #expect(foreign.refused.first?.reason.contains("SKU other-product, which its host certificate does not list") == true)
        let reclassed = try Self.audit(fixture, Self.forge(fixture, usage: [Self.usage("2026-01-02", "studio-pro", "server")]))
        #expect(reclassed.refused.first?.reason.contains("as class server; its host certificate says client") == true)
    }

    @Test("impossible counts are refused: negative machines, one day reported twice, a day outside the report's period")
    func impossibleCounts() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let negative = try Self.audit(fixture, Self.forge(fixture, usage: [Self.usage("2026-01-02", "studio-pro", "client", -4)]))
        #expect(negative.refused.first?.reason.contains("-4 machines") == true)
        let twice = try Self.audit(fixture, Self.forge(fixture, usage: [Self.usage("2026-01-02"), Self.usage("2026-01-02", "studio-pro", "client", 90)]))
        #expect(twice.refused.first?.reason.contains("twice") == true)
        let outside = try Self.audit(fixture, Self.forge(fixture, from: "2026-01-05", to: "2026-01-06", usage: [Self.usage("2026-01-02")]))
        #expect(outside.refused.first?.reason.contains("outside its own period") == true)
        let backwards = try Self.audit(fixture, Self.forge(fixture, from: "2026-01-06", to: "2026-01-05", usage: []))
        #expect(backwards.refused.first?.reason.contains("not a range of days") == true)
    }

    @Test("new machines per day that cannot be true are refused; plausible ones are summed per host")
    func newMachines() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        let usage = [Self.usage("2026-01-02", "studio-pro", "client", 30), Self.usage("2026-01-03", "studio-pro", "client", 12)]
        func audit(_ new: [NewMachinesDay]) throws -> UsageReportAudit { try Self.audit(fixture, Self.forge(fixture, usage: usage, new: new)) }

        let plausible = try audit([NewMachinesDay(day: "2026-01-02", machines: 30, addresses: 4, busiest: 30),
                                   NewMachinesDay(day: "2026-01-03", machines: 2, addresses: 2, busiest: 2)])
        #expect(plausible.clean, "\(plausible.refused)")
        #expect(plausible.newMachines == [UsageReportAudit.NewMachines(hostId: fixture.certificate.claims.sub, machines: 32, days: 2, busiestDay: "2026-01-02",
                                                                        busiestDayMachines: 30, busiestDayFromBusiestBlocks: 30)])

        let refusals: [([NewMachinesDay], String)] = [
            ([NewMachinesDay(day: "2026-01-02", machines: 31, addresses: 5, busiest: 31)], "31 new machines on 2026-01-02, but only 30 machine(s) asked that day"),
            ([NewMachinesDay(day: "2026-01-04", machines: 1, addresses: 1, busiest: 1)], "0 machine(s) asked that day"),
            ([NewMachinesDay(day: "2026-01-20", machines: 1, addresses: 1, busiest: 1)], "outside its period"),
            ([NewMachinesDay(day: "not-a-day!", machines: 1, addresses: 1, busiest: 1)], "not a day"),
            ([NewMachinesDay(day: "2026-01-02", machines: 3, addresses: 1, busiest: 1), NewMachinesDay(day: "2026-01-02", machines: 3, addresses: 1, busiest: 1)], "twice"),
            ([NewMachinesDay(day: "2026-01-02", machines: -1, addresses: 0, busiest: 0)], "negative new machines"),
            ([NewMachinesDay(day: "2026-01-02", machines: 5, addresses: 6, busiest: 5)], "do not add up"),
            ([NewMachinesDay(day: "2026-01-02", machines: 5, addresses: 2, busiest: 9)], "do not add up"),
            ([NewMachinesDay(day: "2026-01-02", machines: 5, addresses: 0, busiest: 0)], "do not add up"),
        ]
        for (new, reason) in refusals {
            let refused = try audit(new)
            #expect(refused.reports.isEmpty && refused.newMachines.isEmpty, "\(new)")
            #expect(refused.refused.first?.reason.contains(reason) == true, "\(new): \(refused.refused)")
        }
        // A report of a host before the field says nothing about new machines, and is not refused for it.
        let before = try Self.audit(fixture, Self.forge(fixture, usage: usage))
        #expect(before.clean && before.newMachines.isEmpty)
    }

    @Test("the ledger gives each host id the time it was first certified")
    func firstCertification() throws {
        let fixture = try ActivatedHost(now: Self.epoch)
        #expect(try fixture.vendor.ledger().firstCertification == [fixture.certificate.claims.sub: Self.epoch])
    }
}
