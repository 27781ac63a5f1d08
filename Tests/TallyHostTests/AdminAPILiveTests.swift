import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Admin API on loopback: status, clients, events, health, ready", .serialized)
struct AdminAPILiveTests {
    func get(_ host: LiveHost, _ path: String) throws -> AdminHTTP.Response {
        try AdminHTTP.request(path, port: host.adminPort)
    }

    @Test("status is the host's dli plus the live count; admin.json names the admin address")
    func status() async throws {
        let host = try await LiveHost()
        for index in 0..<3 { _ = try host.activate(LiveHost.Machine(name: "pc-\(index)")) }
        _ = try host.activate(LiveHost.Machine(), sku: "studio-server")
        let response = try get(host, "/api/status")
        #expect(response.status == 200)
        #expect(response.header("content-type") == "application/json")
        #expect(response.header("cache-control") == "no-store")
        let status = try TallyJSON.decode(AdminStatus.self, from: response.body)
        #expect(status.report.hostId == (try host.fixture.host.info().hostID))
        #expect(status.report.activated)
        #expect(status.live["client"] == AdminStatus.LiveCount(currentCount: 3, requiredCount: 25))
        #expect(status.live["server"] == AdminStatus.LiveCount(currentCount: 1, requiredCount: 5))
        #expect(status.report.classes["client"]?.currentCount == 3)
        #expect(status.report.totalRequests == 4)
        #expect(status.clients == 4)
        #expect(status.activationAddress == "127.0.0.1:\(host.port)")
        #expect(status.batchSizes.reduce(0) { $0 + (Int($1.key) ?? 0) * $1.value } == 4)
        #expect(AdminEndpoint.read(from: host.fixture.host.directory)?.address == "127.0.0.1:\(host.adminPort)")
        await host.stop()
        #expect(AdminEndpoint.read(from: host.fixture.host.directory) == nil)
    }

    @Test("clients are paged and filtered by SKU, class and state")
    func clients() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for index in 0..<7 { _ = try host.activate(LiveHost.Machine(name: "client-\(index)")) }
        for index in 0..<5 { _ = try host.activate(LiveHost.Machine(name: "server-\(index)"), sku: "studio-server") }
        func page(_ query: String) throws -> AdminClientPage {
            let response = try get(host, "/api/clients?" + query)
            #expect(response.status == 200, "\(query): \(response.text)")
            return try TallyJSON.decode(AdminClientPage.self, from: response.body)
        }
        #expect(try page("").clients.count == 12)
        let first = try page("limit=5")
        #expect(first.clients.count == 5)
        #expect(first.nextOffset == 5)
        let second = try page("limit=5&offset=5")
        let third = try page("limit=5&offset=10")
        #expect(third.clients.count == 2)
        #expect(third.nextOffset == nil)
        #expect(Set((first.clients + second.clients + third.clients).map(\.cmid)).count == 12)
        #expect(try page("sku=studio-server").clients.count == 5)
        #expect(try page("class=client").clients.allSatisfy { $0.productClass == "client" && $0.machine.hasPrefix("client-") })
        // The fifth server machine got a ticket: it is Licensed; the rest reported Initial grace.
        #expect(try page("state=Licensed").clients.map(\.machine) == ["server-4"])
        #expect(try page("state=initial%20grace").clients.count == 11)
        #expect(try page("state=Notification").clients.isEmpty)
        #expect(try get(host, "/api/clients?limit=0").status == 400)
        #expect(try get(host, "/api/clients?limit=abc").status == 400)
        #expect(try get(host, "/api/clients?offset=-1").status == 400)
    }

    @Test("events since a time or after a seq, filtered by id")
    func events() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<3 { _ = try host.activate(LiveHost.Machine()) }
        host.clock.advance(by: 3600)
        let later = host.clock.now()
        for _ in 0..<2 { _ = try host.activate(LiveHost.Machine()) }
        try await host.runtime.store.append([TallyEvent(id: .dnsPublishFailed, time: host.clock.now(), fields: ["domain": "example.test", "rcode": "REFUSED"])])
        func page(_ query: String) throws -> AdminEventPage {
            let response = try get(host, "/api/events?" + query)
            #expect(response.status == 200, "\(query): \(response.text)")
            return try TallyJSON.decode(AdminEventPage.self, from: response.body)
        }
        let all = try page("")
        #expect(all.events.count == 6)
        #expect(all.events.map(\.seq) == all.events.map(\.seq).sorted())
        let since = ISO8601DateFormatter().string(from: later)
        #expect(try page("since=\(since)").events.count == 3)
        let afterThird = try page("after=\(all.events[2].seq)")
        #expect(afterThird.events.map(\.seq) == Array(all.events.map(\.seq).dropFirst(3)))
        #expect(afterThird.lastSeq == all.events.last?.seq)
        #expect(try page("id=12293").events.map(\.event.fields["domain"]) == ["example.test"])
        #expect(try page("id=12290&limit=2").events.count == 2)
        #expect(try get(host, "/api/events?id=4242").status == 400)
        #expect(try get(host, "/api/events?since=yesterday").status == 400)
    }

    @Test("health is ok; ready is 200 when activated and 503 with the reason when the host has no certificate")
    func readiness() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try get(host, "/health").json()["status"] as? String == "ok")
        #expect(try get(host, "/ready").status == 200)
        try FileManager.default.removeItem(at: host.fixture.host.directory.file("certificate.jwt"))
        let notReady = try get(host, "/ready")
        #expect(notReady.status == 503)
        #expect((try notReady.json()["reasons"] as? [String])?.first?.contains("activate") == true)
    }

    @Test("unknown paths are 404 and writes to API paths 405 on the admin port")
    func unknownPaths() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        #expect(try get(host, "/v1/activate").status == 404)
        #expect(try get(host, "/api/secrets").status == 404)
        #expect(try AdminHTTP.request("POST", "/api/status", port: host.adminPort).status == 405)
        #expect(try AdminHTTP.request("DELETE", "/api/clients", port: host.adminPort).status == 405)
    }
}
