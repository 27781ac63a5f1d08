import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

/// The dashboard as a browser renders it: headless Chromium (Debian's `chromium`, installed by scripts/test)
/// loads it from a live host and dumps the DOM it built.
@Suite("Dashboard in headless Chromium", .serialized)
struct DashboardBrowserTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static func dumpDOM(_ url: String) throws -> String {
        guard let chromium else {
            throw AdminHTTP.Failure(description: "chromium is not installed: run scripts/test (it installs Debian's chromium)")
        }
        let profile = TemporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.url.path)", "--dump-dom", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("counts, chart, results, clients and warnings render; a machine named <script>alert(1)</script> shows as text, bidi controls neutralised")
    func rendersEscaped() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let hostile = "<script>alert(1)</script>"
        _ = try host.activate(LiveHost.Machine(name: hostile))
        _ = try host.activate(LiveHost.Machine(name: "<img src=x onerror=alert(2)>"))
        _ = try host.activate(LiveHost.Machine(name: "pc-3"))
        // Shown as "pc-exe.png" where the right-to-left override is honoured.
        _ = try host.activate(LiveHost.Machine(name: "pc-\u{202E}gnp.exe"))
        for index in 0..<5 { _ = try host.activate(LiveHost.Machine(name: "srv-\(index)"), sku: "studio-server") }

        // The page's own headers: the strict policy and no sniffing.
        let raw = try AdminHTTP.request("/", port: host.adminPort)
        #expect(raw.status == 200)
        let policy = try #require(raw.header("content-security-policy"))
        #expect(policy.contains("default-src 'none'"))
        #expect(policy.contains("frame-ancestors 'none'"))
        #expect(policy.contains("style-src 'sha256-"))
        #expect(!policy.contains("unsafe-inline"))
        #expect(!policy.contains("script-src"))
        #expect(raw.header("x-content-type-options") == "nosniff")
        #expect(raw.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!raw.text.contains(hostile))

        let dom = try Self.dumpDOM("http://127.0.0.1:\(host.adminPort)/")
        #expect(dom.contains("Tally host"), "\(dom.prefix(500))")
        // The machine name is text inside its table cell: the DOM serialiser escapes it again, and no script
        // or img element was made from it.
        #expect(dom.contains("<td class=\"machine\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        #expect(dom.contains("<td class=\"machine\">&lt;img src=x onerror=alert(2)&gt;</td>"))
        #expect(!dom.lowercased().contains("<script"))
        #expect(!dom.contains("<img"))
        #expect(dom.contains("<td class=\"machine\">pc-\u{FFFD}gnp.exe</td>"))
        #expect(!dom.unicodeScalars.contains("\u{202E}"))
        // Count against threshold per class.
        #expect(dom.contains("data-class=\"client\""))
        #expect(dom.contains("<span class=\"n\">4</span> <span class=\"of\">of 25 machines · below threshold</span>"))
        #expect(dom.contains("<span class=\"n\">5</span> <span class=\"of\">of 5 machines · activating</span>"))
        // The chart: today's bar holds 1 granted and 8 refused requests.
        #expect(dom.contains("<svg"))
        #expect(dom.contains("class=\"granted\""))
        #expect(dom.contains("data-value=\"8\""))
        // Results and warnings.
        #expect(dom.contains("<code>0xC004F038</code>"))
        #expect(dom.contains("data-kind=\"belowThreshold\""))
        #expect(dom.contains("Class client: 4 of 25 machines"))
        #expect(!dom.contains("data-kind=\"clonedImage\""))
    }

    @Test("warnings for a failing DNS publication, a cloned image and a certificate expiring within 30 days")
    func warnings() async throws {
        let start = LiveHost.wholeSecondNow()
        let clock = HostClock.manual(start)
        let fixture = try ActivatedHost(now: start)
        let host = try await LiveHost(fixture: fixture, clock: clock)
        defer { Task { await host.stop() } }
        var original = LiveHost.Machine(name: "golden-image")
        _ = try host.activate(original)
        original.fingerprint = MachineFingerprint.compute(machineID: "clone-2", productUUID: nil)
        original.name = "clone-of-golden"
        _ = try host.activate(original)
        try await host.flushClones()
        try await host.runtime.store.append([
            TallyEvent(id: .dnsPublishSucceeded, time: clock.now(), fields: ["domain": "corp.test"]),
            TallyEvent(id: .dnsPublishFailed, time: clock.now(), fields: ["domain": "corp.test", "rcode": "REFUSED", "message": "the server refused the update",
                                                                          "remedy": "Allow this key to update the zone (update-policy)."]),
        ])
        let now = try Self.dumpDOM("http://127.0.0.1:\(host.adminPort)/")
        #expect(now.contains("data-kind=\"dnsPublishFailing\""), "\(now.prefix(300))")
        #expect(now.contains("DNS publishing is failing in corp.test (REFUSED)"))
        #expect(now.contains("Allow this key to update the zone"))
        #expect(now.contains("data-kind=\"clonedImage\""))
        #expect(now.contains("was sent by 2 machines (golden-image, clone-of-golden)") || now.contains("was sent by 2 machines (clone-of-golden, golden-image)"))
        #expect(now.contains("tally client rearm"))
        #expect(!now.contains("data-kind=\"certificateExpiring\""))
        #expect(now.contains("<td title=\"one CMID from several machines: a cloned image\">12300</td>"))

        // Ten days before the certificate's end: the expiry warning; the clone has left the 30-day window.
        clock.advance(by: fixture.certificate.expires.timeIntervalSince(start) - 10 * 86_400)
        let later = try Self.dumpDOM("http://127.0.0.1:\(host.adminPort)/")
        #expect(later.contains("data-kind=\"certificateExpiring\""))
        #expect(later.contains("expires in 10 day(s)") || later.contains("expires in 9 day(s)"))
        #expect(!later.contains("data-kind=\"clonedImage\""))
        #expect(later.contains("data-kind=\"dnsPublishFailing\""))
        // A later success clears the DNS warning.
        try await host.runtime.store.append([TallyEvent(id: .dnsPublishSucceeded, time: clock.now(), fields: ["domain": "corp.test"])])
        #expect(!(try Self.dumpDOM("http://127.0.0.1:\(host.adminPort)/")).contains("data-kind=\"dnsPublishFailing\""))
    }
}
