import Foundation
import TallyCore
import Testing

/// `tally vendor verify-report` against reports a licensee signs itself with its host's private key.
@Suite("CLI: verify-report refuses forged reports signed by the host key", .serialized)
struct ForgedReportCLITests {
    @Test("a report naming future days or a SKU outside the certificate exits 1 as REFUSED; a plausible one from the same key verifies")
    func forgedReports() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        // What the licensee holds on its own host: the private key and the certificate.
        let key = try SigningKey.importPrivate(Data(contentsOf: URL(fileURLWithPath: cli.path("h/host-private.jwk"))))
        let compact = try String(contentsOfFile: cli.path("h/certificate.jwt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let roots = try TrustedRoots([TallyJSON.decode(JWK.self, from: Data(contentsOf: URL(fileURLWithPath: cli.path("v/vendor-public.jwk"))))])
        let now = Date()
        let certificate = try HostCertificate.verify(compact, roots: roots, now: now)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let today = formatter.string(from: now)
        let inAMonth = formatter.string(from: now.addingTimeInterval(30 * 86_400))
        func forge(_ name: String, to: String, usage: [UsageReportClaims.DayUsage]) throws {
            let claims = UsageReportClaims(iss: certificate.claims.sub, from: today, to: to, usage: usage, seq: 1, prv: "", iat: now)
            try VerifiedUsageReport.issue(claims, hostKey: key.privateKey, certificate: certificate)
                .write(toFile: cli.path(name), atomically: true, encoding: .utf8)
        }
        try forge("plausible.jwt", to: today, usage: [UsageReportClaims.DayUsage(day: today, sku: "studio-pro", class: "client", machines: 3)])
        try forge("future.jwt", to: inAMonth, usage: [UsageReportClaims.DayUsage(day: inAMonth, sku: "studio-pro", class: "client", machines: 400)])
        try forge("foreign.jwt", to: today, usage: [UsageReportClaims.DayUsage(day: today, sku: "not-ours", class: "client", machines: 1)])

        let plausible = try cli.run("vendor", "verify-report", "plausible.jwt", "--state-dir", "v")
        #expect(plausible.status == 0, "\(plausible.stdout)\(plausible.stderr)")
        let future = try cli.run("vendor", "verify-report", "future.jwt", "--state-dir", "v")
        #expect(future.status == 1)
        #expect(future.stdout.contains("REFUSED  future.jwt: implausible: it reports \(inAMonth), after the report was made"), "\(future.stdout)")
        let foreign = try cli.run("vendor", "verify-report", "foreign.jwt", "--state-dir", "v", "--json")
        #expect(foreign.status == 1)
        let refused = try #require(try foreign.json()["refused"] as? [[String: Any]])
        #expect((refused.first?["reason"] as? String)?.contains("SKU not-ours, which its host certificate does not list") == true)
        #expect((try foreign.json()["totals"] as? [Any])?.isEmpty == true)
    }
}
