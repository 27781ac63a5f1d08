import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("New machines per address, live", .serialized)
struct NewMachineBudgetLiveTests {
    @Test("one address inventing CMIDs past new-machines-per-address: counting stops, the refusal is signed, event 12306 once, the report, /metrics and the dashboard show it")
    func flood() async throws {
        let start = LiveHost.wholeSecondNow()
        let clock = HostClock.manual(start)
        var settings = HostSettings()
        settings.newMachinesPerAddress = 20
        let host = try await LiveHost(fixture: try ActivatedHost(now: start), clock: clock, settings: settings)
        defer { Task { await host.stop() } }
        // The attacker's path: a fresh CMID and fingerprint for every request, from one address.
        var codes: [ResultCode] = []
        for index in 0..<26 {
            // `activate` verifies each answer's signature and nonce against the vendor's roots.
            let answer = try host.activate(LiveHost.Machine(name: "fake-\(index)"))
            codes.append(answer.claims.res)
            if index >= 20 { #expect(answer.ticket == nil) }
        }
        #expect(codes == Array(repeating: .countTooLow, count: 20) + Array(repeating: .newMachineBudgetExceeded, count: 6))
        #expect(try await host.count("client") == 20)
        // Another address is served and counted as usual.
        let other = try host.activate(LiveHost.Machine(name: "real"), source: "127.0.0.2")
        #expect(other.claims.res == .countTooLow)
        #expect(other.claims.cur == 21)

        let events = try await host.runtime.store.events(EventQuery(id: .newMachineBudgetReached))
        #expect(events.count == 1)
        #expect(events.first?.event.fields["address"] == "127.0.0.1")
        #expect(events.first?.event.fields["admitted"] == "20")

        // The signed usage report: 21 machines that day, all new, all from the two busiest addresses.
        let day = UsageReportWriter.text(day: CountWindow.day(of: start))
        let out = host.fixture.temp.url.appendingPathComponent("report.jwt")
        _ = try await UsageReportWriter(directory: host.fixture.host.directory).write(from: day, to: day, output: out, store: host.runtime.store, now: clock.now())
        let report = try VerifiedUsageReport.verify(try String(contentsOf: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                                                    roots: try host.fixture.roots())
        #expect(report.claims.usage.map(\.machines) == [21])
        #expect(report.claims.new == [NewMachinesDay(day: day, machines: 21, addresses: 2, busiest: 21)])

        let metrics = try AdminHTTP.request("/metrics", port: host.adminPort).text
        #expect(Self.value("tally_new_machines_today", metrics) == 21)
        #expect(Self.value("tally_new_machines_busiest_share", metrics) == 1)
        #expect(Self.value(#"tally_requests_total{result="0xC0A7000E"}"#, metrics) == 6)
        let page = try AdminHTTP.request("/", port: host.adminPort).text
        #expect(page.contains(#"<table id="new-machines">"#))
        #expect(page.contains(#"<td class="num">21</td><td class="num">2</td><td class="num">100%</td><td><code>127.0.0.1 (20)</code>"#))
    }

    /// The value of the series `name` (with its labels) in a Prometheus text.
    /// The sample `name` (with its labels but the `host` label every series carries) in the Prometheus text.
    static func value(_ name: String, _ text: String) -> Double? {
        text.split(separator: "\n").map { $0.replacing(#/host="[^"]*",?/#, with: "").replacing("{}", with: "") }
            .first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
    }
}
