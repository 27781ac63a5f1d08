import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Live host: the decision table over real TCP", .serialized)
struct DecisionTableLiveTests {
    @Test("clients 1–24 get C004F038 with the count, the 25th a ticket, then 1–24 are activated")
    func thresholdCrossing() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let machines = (0..<25).map { LiveHost.Machine(name: "pc-\($0)") }
        for (index, machine) in machines.prefix(24).enumerated() {
            let answer = try host.activate(machine)
            #expect(answer.claims.res == .countTooLow)
            #expect(answer.claims.cur == index + 1)
            #expect(answer.claims.req == 25)
            #expect(answer.ticket == nil)
        }
        let granted = try host.activate(machines[24])
        #expect(granted.claims.res == .success)
        #expect(granted.claims.cur == 25)
        let ticket = try #require(granted.ticket)
        #expect(ticket.claims.sub == machines[24].cmid)
        #expect(ticket.claims.fpr == machines[24].fingerprint)
        #expect(ticket.claims.exp <= ticket.certificate.claims.exp)
        #expect(ticket.claims.exp - ticket.claims.iat == 180 * 86_400)
        for machine in machines.prefix(24) {
            let again = try host.activate(machine)
            #expect(again.claims.res == .success)
            #expect(again.claims.cur == 25)
        }
    }

    @Test("the server class counts on its own with threshold 5")
    func serverClass() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<3 { _ = try host.activate(LiveHost.Machine(), sku: "studio-pro") }
        var results: [ResultCode] = []
        for _ in 0..<5 { results.append(try host.activate(LiveHost.Machine(), sku: "studio-server").claims.res) }
        #expect(results == [.countTooLow, .countTooLow, .countTooLow, .countTooLow, .success])
    }

    @Test("a SKU outside the certificate is C004F042, signed, and not counted")
    func skuNotCovered() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let answer = try host.activate(LiveHost.Machine(), sku: "another-product")
        #expect(answer.claims.res == .skuNotCovered)
        #expect((try await host.count("client")) == 0)
    }

    @Test("a client clock more than 4 h off is C004F06C and not counted; exactly 4 h is fine")
    func clockSkew() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let skewed = try host.activate(LiveHost.Machine(), clientTime: host.clock.now().addingTimeInterval(4 * 3600 + 60))
        #expect(skewed.claims.res == .clockSkew)
        #expect((try await host.count("client")) == 0)
        let edge = try host.activate(LiveHost.Machine(), clientTime: host.clock.now().addingTimeInterval(-4 * 3600))
        #expect(edge.claims.res == .countTooLow)
        #expect(edge.claims.cur == 1)
    }

    @Test("a host without a certificate answers C004F041 and counts nothing")
    func notActivated() async throws {
        let fixture = try ActivatedHost()
        try FileManager.default.removeItem(at: fixture.host.directory.file("certificate.jwt"))
        let host = try await LiveHost(fixture: fixture)
        defer { Task { await host.stop() } }
        let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
        let response = try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body)
        #expect(response.status == 503)
        #expect(try response.json()["code"] as? String == "0xC004F041")
        // Not counted, but the request is an event, as every request is.
        #expect((try await host.counts()).isEmpty)
        let events = try await host.runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: .requestHandled, limit: 10))
        #expect(events.map(\.event.result) == [.hostNotActivated])
        #expect(try await host.runtime.store.clients(ClientQuery()).isEmpty)
    }

    @Test("the count survives a restart")
    func countAfterRestart() async throws {
        let host = try await LiveHost()
        for _ in 0..<7 { _ = try host.activate(LiveHost.Machine()) }
        try await host.restart()
        #expect((try await host.count("client")) == 7)
        let next = try host.activate(LiveHost.Machine())
        #expect(next.claims.cur == 8)
        await host.stop()
        let status = try await HostStatusReport.read(directory: host.fixture.host.directory, now: host.clock.now())
        #expect(status.classes["client"] == HostStatusReport.ClassCount(currentCount: 8, requiredCount: 25))
        #expect(status.totalRequests == 8)
    }

    @Test("renewal after the count fell: C004F038, while the ticket held stays valid")
    func renewalAfterCountFell() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let machines = (0..<25).map { _ in LiveHost.Machine() }
        var last: VerifiedResponse?
        for machine in machines { last = try host.activate(machine) }
        let ticket = try #require(last?.ticket)
        // 31 days later the other 24 machines have aged out of the window.
        host.clock.advance(by: 31 * 86_400)
        let renewal = try host.activate(machines[24])
        #expect(renewal.claims.res == .countTooLow)
        #expect(renewal.claims.cur == 1)
        #expect(renewal.ticket == nil)
        let stillValid = try VerifiedTicket.verify(ticket.compact, certificate: ticket.certificate.compact, roots: host.fixture.roots(), now: host.clock.now(),
                                                   cmid: machines[24].cmid, fingerprint: machines[24].fingerprint)
        #expect(stillValid.claims.sub == machines[24].cmid)
    }

    @Test("concurrent requests are decided one at a time: counts 1…40 each seen once, 16 tickets")
    func concurrentDecisions() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let results = try await withThrowingTaskGroup(of: VerifiedResponse.self) { group in
            for _ in 0..<40 {
                group.addTask { try host.activate(LiveHost.Machine()) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.map(\.claims.cur).sorted() == Array(1...40))
        #expect(results.filter { $0.claims.res == .success }.count == 16)
    }

    @Test("the store runs with synchronous=FULL and keeps one 12290 event per request")
    func storeDurability() async throws {
        let host = try await LiveHost()
        let machine = LiveHost.Machine(name: "<b>desk</b>")
        _ = try host.activate(machine)
        _ = try host.activate(machine)
        await host.stop()
        let store = try SQLiteHostStore(path: host.fixture.host.directory.file(HostRuntime.storeFile).path)
        #expect(try store.synchronousMode() == 2)
        let events = try await store.events(EventQuery(since: nil, afterSeq: nil, id: .requestHandled, limit: 10))
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0.event.fields["cmid"] == machine.cmid && $0.event.fields["machine"] == "<b>desk</b>" })
        let clients = try await store.clients(ClientQuery())
        #expect(clients.count == 1)
        #expect(clients.first?.requests == 2)
    }
}
