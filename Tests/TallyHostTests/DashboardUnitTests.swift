import Foundation
import Testing
import TallyCore
@testable import TallyHost
@testable import TallyStore

@Suite("Dashboard pieces as plain values: escaping, chart, warnings, requests")
struct DashboardUnitTests {
    @Test("HTML escaping covers the five characters and control characters")
    func escaping() {
        #expect(HTML.escape("<script>alert('x')</script> & \"y\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;")
        #expect(HTML.escape("pc-01 Ü 日本") == "pc-01 Ü 日本")
        #expect(HTML.escape("a\u{1B}[31mb") == "a\u{FFFD}[31mb")
        #expect(HTML.escape("") == "")
    }

    @Test("HTML escaping neutralises bidirectional controls, so a name cannot read in another order than it is stored")
    func bidi() {
        // "pc-<RLO>gnp.exe" would show as "pc-exe.png".
        #expect(HTML.escape("pc-\u{202E}gnp.exe") == "pc-\u{FFFD}gnp.exe")
        for value in [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C] {
            let scalar = Unicode.Scalar(value)!
            #expect(HTML.escape("a\(scalar)b") == "a\u{FFFD}b", "U+\(String(value, radix: 16, uppercase: true))")
        }
        // Other format characters and right-to-left text itself stay.
        #expect(HTML.escape("שלום \u{200D}") == "שלום \u{200D}")
    }

    @Test("the chart folds results into 30 days: success granted, C004F038 refused, the rest errors")
    func chartFolding() {
        let today = 20_000
        let results = [DailyResults(day: today, result: .success, requests: 3), DailyResults(day: today, result: .countTooLow, requests: 5),
                       DailyResults(day: today, result: .clockSkew, requests: 1), DailyResults(day: today - 2, result: .countTooLow, requests: 2),
                       DailyResults(day: today - 40, result: .success, requests: 9)]
        let chart = SVGChart(results: results, today: today)
        #expect(chart.days.count == 30)
        #expect(chart.days.last == SVGChart.Day(day: today, granted: 3, refused: 5, errors: 1))
        #expect(chart.days[27] == SVGChart.Day(day: today - 2, granted: 0, refused: 2, errors: 0))
        #expect(chart.days.map(\.total).reduce(0, +) == 11)
        let svg = chart.svg()
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("data-value=\"5\""))
        #expect(svg.components(separatedBy: "<rect").count - 1 == 4)
        #expect(!svg.contains("style="))
    }

    @Test("the axis ends at 1, 2 or 5 times a power of ten")
    func axis() {
        #expect([0, 1, 2, 3, 6, 11, 99, 101, 4_999].map(SVGChart.axisMaximum) == [1, 1, 2, 5, 10, 20, 100, 200, 5_000])
    }

    func stored(_ seq: Int64, _ id: EventID, _ fields: [String: String] = [:]) -> StoredEvent {
        StoredEvent(seq: seq, event: TallyEvent(id: id, time: Date(timeIntervalSince1970: 1_800_000_000), fields: fields))
    }

    func inputs(classes: [(name: String, current: Int, required: Int)] = [("client", 25, 25)], activated: Bool = true, expires: Date? = nil,
                failure: StoredEvent? = nil, success: StoredEvent? = nil,
                clones: [ClonedImage] = []) -> DashboardWarnings.Inputs {
        DashboardWarnings.Inputs(classes: classes, activated: activated, problem: activated ? nil : "no certificate installed",
                                 certificateExpires: expires ?? now.addingTimeInterval(200 * 86_400),
                                 lastPublishFailure: failure, lastPublishSuccess: success, clones: clones)
    }

    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("warnings: none when all is well; below threshold per class")
    func belowThreshold() {
        #expect(DashboardWarnings.evaluate(inputs(), now: now).isEmpty)
        let warnings = DashboardWarnings.evaluate(inputs(classes: [("client", 24, 25), ("server", 5, 5)]), now: now)
        #expect(warnings.map(\.kind) == [.belowThreshold])
        #expect(warnings.first?.text.contains("24 of 25") == true)
    }

    @Test("warnings: DNS publishing failing only while the newest 12293 is newer than the newest 12294")
    func dnsFailing() {
        let failure = stored(7, .dnsPublishFailed, ["domain": "corp.test", "rcode": "BADSIG", "remedy": "Check the key."])
        #expect(DashboardWarnings.evaluate(inputs(failure: failure), now: now).map(\.kind) == [.dnsPublishFailing])
        #expect(DashboardWarnings.evaluate(inputs(failure: failure, success: stored(5, .dnsPublishSucceeded)), now: now).first?.remedy == "Check the key.")
        #expect(DashboardWarnings.evaluate(inputs(failure: failure, success: stored(9, .dnsPublishSucceeded)), now: now).isEmpty)
        #expect(DashboardWarnings.evaluate(inputs(success: stored(9, .dnsPublishSucceeded)), now: now).isEmpty)
    }

    @Test("warnings: a certificate within 30 days of its end, an error within 7; a host without one")
    func certificate() {
        #expect(DashboardWarnings.evaluate(inputs(expires: now.addingTimeInterval(31 * 86_400)), now: now).isEmpty)
        let soon = DashboardWarnings.evaluate(inputs(expires: now.addingTimeInterval(29 * 86_400)), now: now)
        #expect(soon.map(\.kind) == [.certificateExpiring])
        #expect(soon.first?.level == .warning)
        #expect(DashboardWarnings.evaluate(inputs(expires: now.addingTimeInterval(3 * 86_400)), now: now).first?.level == .error)
        let none = DashboardWarnings.evaluate(inputs(activated: false), now: now)
        #expect(none.map(\.kind) == [.notActivated])
        #expect(none.first?.text.contains("C004F041") == true)
    }

    @Test("warnings: a cloned image names the CMID and the machines, with the rearm remedy")
    func clone() {
        let machines = [FingerprintSighting(fingerprint: "a", machine: "gold", lastDay: 1), FingerprintSighting(fingerprint: "b", machine: "copy", lastDay: 1)]
        let warnings = DashboardWarnings.evaluate(inputs(clones: [ClonedImage(cmid: "cmid-1", machines: machines, machineCount: 2)]), now: now)
        #expect(warnings.map(\.kind) == [.clonedImage])
        #expect(warnings.first?.text.contains("cmid-1") == true)
        #expect(warnings.first?.text.contains("was sent by 2 machines (gold, copy).") == true)
        #expect(warnings.first?.remedy.contains("tally client rearm") == true)
    }

    @Test("warnings: a cloned image with more machines than listed says how many more there are")
    func cloneWithManyMachines() {
        let machines = (0..<20).map { FingerprintSighting(fingerprint: "f\($0)", machine: "m\($0)", lastDay: 1) }
        let warnings = DashboardWarnings.evaluate(inputs(clones: [ClonedImage(cmid: "cmid-1", machines: machines, machineCount: 100)]), now: now)
        #expect(warnings.first?.text.contains("was sent by 100 machines (m0, m1,") == true)
        #expect(warnings.first?.text.contains("m19 and 80 more). They count as one.") == true)
    }

    @Test("requests: query strings and forms are decoded; cookies are split")
    func requests() {
        let request = AdminRequest(method: "GET", uri: "/api/clients?sku=studio-pro&state=Initial%20grace&class=&x", headers: ["Cookie": "a=1; tally_session=abc=="])
        #expect(request.path == "/api/clients")
        #expect(request.query == ["sku": "studio-pro", "state": "Initial grace", "class": "", "x": ""])
        #expect(request.cookies["tally_session"] == "abc==")
        #expect(AdminRequest.form("token=a%2Bb+c") == ["token": "a+b c"])
    }

    @Test("the stylesheet's hash is the one the policy names")
    func styleHash() {
        #expect(DashboardStyle.hash.hasPrefix("sha256-"))
        #expect(Data(base64Encoded: String(DashboardStyle.hash.dropFirst(7)))?.count == 32)
        let response = AdminResponse.html("<p>x</p>", styleHash: DashboardStyle.hash)
        #expect(response.header("Content-Security-Policy")?.contains("style-src '\(DashboardStyle.hash)'") == true)
        #expect(response.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
    }
}
