import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyPostgresTestSupport
import TallyStore
import TallyTestSupport
import TallyVendor

/// Two hosts of one licence on one real PostgreSQL store report as one site: one chain in the store, whichever
/// host makes the report, each machine counted once, acknowledged by a real vendor over HTTPS.
@Suite("Online vendor: one usage-report chain for the hosts sharing a PostgreSQL store", .serialized)
struct SiteReportChainTests {
    /// The store of `host` on `cluster`, deciding on the caller's clock (the sightings are days in the past).
    static func store(_ host: HostIdentity, _ cluster: PostgresCluster, site: StoreSite) async throws -> PostgresHostStore {
        var configuration = PostgresStoreConfiguration(url: try PostgresStoreURL(parsing: cluster.url()), hostID: try host.info().hostID)
        configuration.clock = .caller
        // Not a host's timeouts: this test is about the chain, and a machine busy with other suites must not turn a
        // slow statement into a failure (the contract tests do the same).
        configuration.connectTimeout = .seconds(10)
        configuration.deadline = .seconds(30)
        configuration.lockTimeout = .seconds(20)
        configuration.statementTimeout = .seconds(20)
        return try await PostgresHostStore.open(configuration, site: site)
    }

    /// `cmids` ask for studio-pro through `store` at `time`, decided by the store's own activation path.
    static func ask(_ cmids: [String], _ store: PostgresHostStore, certificate: HostCertificate, at time: Date) async throws {
        let inputs = cmids.map { cmid in
            ActivationInput(request: PolicyRequest(cmid: cmid, sku: "studio-pro", fingerprint: "fpr-" + cmid, clientTime: time),
                            machine: "pc", licenseStatus: "Initial grace", address: "127.0.0.1")
        }
        _ = try await store.decide(inputs, context: DecisionContext(certificate: certificate.claims, intervals: ClientIntervals()), now: time)
    }

    @Test("reports made by either host follow one chain in the store, count each machine once and name both hosts; the vendor acknowledges the site's chain; verify-report finds nothing")
    func oneChainForTheSite() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        try await withOnlineVendor { vendor in
            let now = Date().addingTimeInterval(3 * 86_400)
            let key = try vendor.key()
            let a = try vendor.host(key, name: "a"), b = try vendor.host(key, name: "b")
            for host in [a, b] { _ = try await vendor.online(host).activate(url: vendor.url) }
            let certificate = try #require(try a.certificate(now: now))
            let site = StoreSite(certificate: certificate.claims)
            let storeA = try await Self.store(a, cluster, site: site), storeB = try await Self.store(b, cluster, site: site)
            do {
                try await Self.reportAsOneSite(vendor, a, b, storeA, storeB, certificate: certificate, now: now)
            } catch {
                // A store is closed before it goes, also when the test failed.
                try await storeA.close()
                try await storeB.close()
                throw error
            }
            try await storeA.close()
            try await storeB.close()
        }
    }

    static func reportAsOneSite(_ vendor: OnlineVendor, _ a: HostIdentity, _ b: HostIdentity, _ storeA: PostgresHostStore, _ storeB: PostgresHostStore,
                                certificate: HostCertificate, now: Date) async throws {
        do {
            let ids = [try a.info().hostID, try b.info().hostID]
            // Two days ago: m1…m3 on A, m2 and m3 again on B and m4 on B only: four machines.
            let twoDaysAgo = now.addingTimeInterval(-2 * 86_400)
            try await Self.ask(["m1", "m2", "m3"], storeA, certificate: certificate, at: twoDaysAgo)
            try await Self.ask(["m2", "m3", "m4"], storeB, certificate: certificate, at: twoDaysAgo.addingTimeInterval(60))

            // Both hosts make the next report at once: one of them makes report 1, the other finds nothing left.
            async let madeByA = UsageReportWriter(directory: a.directory).writeNext(store: storeA, now: now)
            async let madeByB = UsageReportWriter(directory: b.directory).writeNext(store: storeB, now: now)
            let made = [try await madeByA, try await madeByB].compactMap { $0 }
            #expect(made.count == 1)
            let first = try #require(made.first)
            #expect(first.claims.seq == 1 && first.claims.prv.isEmpty)
            #expect(first.claims.site != nil && Set(first.claims.hosts ?? []) == Set(ids))
            #expect(first.claims.usage.map { "\($0.day) \($0.sku) \($0.machines)" } == ["\(UsageReportWriter.text(day: CountWindow.day(of: twoDaysAgo))) studio-pro 4"])

            // The next day, m5 on A; B makes report 2, which follows report 1 (made by whichever host).
            let later = now.addingTimeInterval(86_400)
            try await Self.ask(["m5", "m1"], storeA, certificate: certificate, at: now)
            let second = try #require(try await UsageReportWriter(directory: b.directory).writeNext(store: storeB, now: later))
            #expect(second.claims.seq == 2 && second.claims.prv == VerifiedUsageReport.hash(first.report))
            #expect(second.claims.iss == ids[1] && second.claims.site == first.claims.site)
            #expect(second.claims.from == UsageReportWriter.text(day: CountWindow.day(of: now)))
            #expect(second.claims.usage.map(\.machines) == [2])
            // Neither host's own chain file moved: the chain is the site's.
            #expect(!a.directory.exists(UsageReportWriter.chainFile) && !b.directory.exists(UsageReportWriter.chainFile))

            // A sends both (report 2 was made by B): the vendor acknowledges the site's chain, the receipts are in the store.
            let sent = try await vendor.online(a).sendReports(url: nil, store: storeA, writeNext: false, now: later)
            #expect(sent.map(\.seq) == [1, 2])
            #expect(try await storeB.siteReportChain?.unacknowledged().isEmpty == true)
            #expect(try await storeB.siteReportChain?.receipts().keys.sorted() == [1, 2])
            let summaries = try vendor.authority.reportSummaries()
            #expect(summaries.map(\.hostId) == ["site:" + (first.claims.site ?? "")])
            #expect(summaries.first?.reports == 2 && summaries.first?.gaps.isEmpty == true && summaries.first?.keyPairs == 1)

            // verify-report over both: clean, one chain, the site's machines once.
            let roots = try vendor.authority.roots().trustedRoots()
            let audit = UsageReportAudit.audit([(name: "1.jwt", text: first.report), (name: "2.jwt", text: second.report)], roots: roots)
            #expect(audit.clean, "\(audit.refused) \(audit.findings)")
            #expect(Set(audit.reports.map(\.chain)) == ["site:" + (first.claims.site ?? "")])
            #expect(audit.totals.map { "\($0.sku) \($0.peakMachines) \($0.machineDays)" } == ["studio-pro 4 6"])

            // A site report that does not list the host that signed it is refused.
            var forged = second.claims
            forged.hosts = [ids[0]]
            forged.seq = 3
            forged.prv = VerifiedUsageReport.hash(second.report)
            let compact = try VerifiedUsageReport.issue(forged, hostKey: try b.signingKey().privateKey, certificate: try #require(try b.certificate(now: later)))
            let refused = UsageReportAudit.audit([(name: "3.jwt", text: compact)], roots: roots)
            #expect(refused.refused.first?.reason.contains("does not list the host that signed it") == true, "\(refused.refused)")
        }
    }
}
