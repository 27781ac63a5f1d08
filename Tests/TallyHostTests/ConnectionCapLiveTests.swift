import Foundation
import Testing
import TallyCore
@testable import TallyHost
import TallyTestSupport

@Suite("Live host: connections per address", .serialized)
struct ConnectionCapLiveTests {
    @Test("one address trying to hold max-connections sockets gets max-connections-per-address of them, the rest 503 at once; another client is served meanwhile")
    func oneAddressHoldsSockets() async throws {
        var settings = HostSettings()
        settings.maxConnections = 40
        settings.maxConnectionsPerAddress = 10
        let host = try await LiveHost(settings: settings)
        defer { Task { await host.stop() } }
        var held: [RawHTTPConnection] = []
        var statuses: [Int] = []
        var messages: Set<String> = []
        for _ in 0..<40 {
            let connection = try RawHTTPConnection(port: host.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try connection.readResponse()
            statuses.append(answer.status)
            if answer.status == 503 {
                #expect(try answer.json()["code"] as? String == "0xC0A7000C")
                messages.insert(try answer.json()["message"] as? String ?? "")
            }
            held.append(connection)
        }
        #expect(statuses == Array(repeating: 200, count: 10) + Array(repeating: 503, count: 30))
        #expect(messages.count == 1)
        #expect(messages.first?.contains("max-connections-per-address") == true)
        // Another address is served while the first holds its ten.
        let other = try host.activate(LiveHost.Machine(), source: "127.0.0.2")
        #expect(other.claims.res == .countTooLow)
        // The held ones still work.
        let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
        #expect(try held[0].post(ProtocolPaths.activate, body: body).status == 200)
        _ = held
    }

    @Test("the gate: a block's cap before the total; IPv6 by /64; leaving frees both")
    func gate() {
        let gate = ConnectionGate(limit: 3, perAddress: 2)
        let a = AddressBlock(address: "2001:db8:1:1::1"), rotated = AddressBlock(address: "2001:db8:1:1::2"), b = AddressBlock(address: "192.0.2.1")
        #expect(gate.enter(a) == nil)
        #expect(gate.enter(rotated) == nil)
        #expect(gate.enter(a) == .addressFull)
        #expect(gate.enter(b) == nil)
        #expect(gate.enter(AddressBlock(address: "192.0.2.2")) == .full)
        gate.leave(a)
        #expect(gate.current == 2)
        #expect(gate.enter(rotated) == nil)
        // Without a per-address cap only the total counts.
        let open = ConnectionGate(limit: 2)
        #expect(open.enter(a) == nil)
        #expect(open.enter(a) == nil)
        #expect(open.enter(a) == .full)
    }

    @Test("the file limit: max-connections is lowered to the soft limit less the reserve, never below 1")
    func fileLimit() {
        #expect(FileLimit(soft: 256, hard: 256).connections(asked: 10_000) == 256 - FileLimit.reserved)
        #expect(FileLimit(soft: 1_048_576, hard: 1_048_576).connections(asked: 10_000) == 10_000)
        #expect(FileLimit(soft: 100, hard: 100).connections(asked: 10_000) == 1)
        // This process's soft limit is its hard limit once raised.
        let raised = FileLimit.raiseSoftToHard()
        #expect(raised.map { $0.soft == $0.hard } == true)
    }
}
