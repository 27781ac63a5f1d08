import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import TallyVendor
import TallyVendorLink

@Suite("Online vendor: usage reports, receipts, and histories that cannot be rewritten", .serialized)
struct ReportReceiptTests {
    /// Sightings in the host's real store: `machines` distinct CMIDs asking for `sku` on the day `daysAgo` before `now`.
    /// Decided through the store's own activation path, as the host would at that time.
    static func sightings(_ store: SQLiteHostStore, host: HostIdentity, sku: String, machines: Int, daysAgo: Int, now: Date) async throws {
        let time = now.addingTimeInterval(-Double(daysAgo) * 86_400)
        let certificate = try #require(try host.certificate(now: now))
        let inputs = (0..<machines).map { index in
            ActivationInput(request: PolicyRequest(cmid: CMID.generate(), sku: sku, fingerprint: String(repeating: "f", count: 63) + String(index % 10),
                                                   clientTime: time),
                            machine: "pc-\(index)", licenseStatus: "Initial grace", address: "127.0.0.1")
        }
        let decisions = try await store.decide(inputs, context: DecisionContext(certificate: certificate.claims, intervals: ClientIntervals()), now: time)
        #expect(decisions.allSatisfy { $0.decision.counted })
    }

    /// An activated host with sightings on the two days before `now`, and its store.
    static func reportingHost(_ vendor: OnlineVendor, now: Date) async throws -> (HostIdentity, SQLiteHostStore) {
        let host = try vendor.host(try vendor.key())
        _ = try await vendor.online(host).activate(url: vendor.url)
        let store = try SQLiteHostStore(path: host.directory.file("host.sqlite").path)
        try await sightings(store, host: host, sku: "studio-pro", machines: 3, daysAgo: 2, now: now)
        try await sightings(store, host: host, sku: "studio-server", machines: 1, daysAgo: 1, now: now)
        return (host, store)
    }

    @Test("report --send: the next report gets a receipt the host verifies and keeps, 12303 is logged, and the vendor's view shows it")
    func receipts() async throws {
        try await withOnlineVendor { vendor in
            // Three days after the host was certified: the days it reports lie within its certificate.
            let now = Date().addingTimeInterval(3 * 86_400)
            let (host, store) = try await Self.reportingHost(vendor, now: now)
            let sent = try await vendor.online(host).sendReports(url: nil, store: store, now: now)
            #expect(sent.map(\.seq) == [1])
            #expect(sent.first?.from == UsageReportWriter.text(day: CountWindow.day(of: now) - 2))
            #expect(sent.first?.to == UsageReportWriter.text(day: CountWindow.day(of: now) - 1))
            let writer = UsageReportWriter(directory: host.directory)
            let receipt = try #require(try writer.receipts()[1])
            #expect(try writer.unacknowledged().isEmpty)
            let report = try String(contentsOf: host.directory.file("reports/1.jwt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let claims = try ReportReceipt.verify(receipt, roots: host.trustedRoots(),
                                                  for: JWS.parse(report, expecting: .report).decodePayload(UsageReportClaims.self),
                                                  reportHash: VerifiedUsageReport.hash(report))
            #expect(try claims.seq == 1 && claims.sub == (host.info().hostID))
            #expect(try JWS.parse(receipt, expecting: .receipt).header.kid == (try vendor.authority.roots().active(.online)?.kid))
            #expect(try await store.events(EventQuery(since: nil, afterSeq: nil, id: .reportAcknowledged, limit: 10)).map { $0.event.fields["seq"] } == ["1"])

            let summary = try #require(try vendor.authority.reportSummaries().first)
            #expect(summary.hostId == (try host.info().hostID) && summary.reports == 1 && summary.latest?.seq == 1 && summary.gaps.isEmpty)
            #expect(summary.machines.map { "\($0.sku) \($0.productClass) \($0.peakMachines)" } == ["studio-pro client 3", "studio-server server 1"])

            // Nothing new until another day has passed.
            #expect(try await vendor.online(host).sendReports(url: nil, store: store, now: now).isEmpty)
            // The answer was lost: the same report again gets the same receipt, and is stored once.
            try FileManager.default.removeItem(at: host.directory.file("receipts/1.jwt"))
            let again = try await vendor.online(host).sendReports(url: nil, store: store, now: now)
            #expect(again.map(\.seq) == [1])
            #expect(try writer.receipts()[1] == receipt)
            #expect(try vendor.authority.reportSummaries().first?.reports == 1)
            #expect(try vendor.authority.audit().filter { $0.kind == .report }.map(\.message).last?.contains("again") == true)
        }
    }

    @Test("with the host's own key: another report at an acknowledged number is 0xC0A70025, a chain that does not extend is 0xC0A70026; both flagged")
    func rewrittenHistory() async throws {
        try await withOnlineVendor { vendor in
            // Three days after the host was certified: the days it reports lie within its certificate.
            let now = Date().addingTimeInterval(3 * 86_400)
            let (host, store) = try await Self.reportingHost(vendor, now: now)
            let acknowledged = try await vendor.online(host).sendReports(url: nil, store: store, now: now)
            #expect(acknowledged.map(\.seq) == [1])
            // The licensee holds the host's key and certificate: it signs a smaller report 1 and a report 2 of its own.
            let key = try host.signingKey().privateKey
            let certificate = try #require(try host.certificate())
            func forged(seq: Int, prv: String, machines: Int) throws -> String {
                let day = UsageReportWriter.text(day: CountWindow.day(of: now) - 1)
                let claims = UsageReportClaims(iss: certificate.claims.sub, from: day, to: day,
                                               usage: [.init(day: day, sku: "studio-pro", class: "client", machines: machines)], seq: seq, prv: prv, iat: now)
                return try VerifiedUsageReport.issue(claims, hostKey: key, certificate: certificate)
            }
            do {
                _ = try await VendorLink.submit(report: forged(seq: 1, prv: "", machines: 1), at: vendor.vendorURL, settings: vendor.settings)
                Issue.record("a second report 1 was acknowledged")
            } catch let error as TallyError {
                #expect(error.code == .reportRewritten)
                #expect(error.message.contains("rewritten history"))
            }
            #expect(await errorCode { _ = try await VendorLink.submit(report: forged(seq: 2, prv: String(repeating: "0", count: 64), machines: 1),
                                                                       at: vendor.vendorURL, settings: vendor.settings) } == .reportChainBroken)
            // The host's real next report still extends the chain; a report far ahead leaves a gap the vendor shows.
            let next = try await vendor.online(host).sendReports(url: nil, store: store, now: now.addingTimeInterval(86_400))
            #expect(next.map(\.seq) == [2])
            _ = try await VendorLink.submit(report: forged(seq: 5, prv: String(repeating: "1", count: 64), machines: 2), at: vendor.vendorURL, settings: vendor.settings)
            let summary = try #require(try vendor.authority.reportSummaries().first)
            #expect(summary.reports == 3 && summary.latest?.seq == 5)
            #expect(summary.gaps.map { "\($0.from)…\($0.to)" } == ["3…4"])
            #expect(summary.flags.map(\.code) == [.reportRewritten, .reportChainBroken])
            #expect(try vendor.authority.audit().filter(\.flagged).map(\.reportSeq) == [1, 2])
            // The acknowledged report 1 is the host's, not the forgery.
            let stored = try vendor.authority.openLedger().acknowledgedReports().first { $0.seq == 1 }
            #expect(stored?.usage.first?.machines == 3)
        }
    }
}
