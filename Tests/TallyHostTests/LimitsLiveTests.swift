import Foundation
import Testing
import TallyCore
import TallyHost
import TallyTestSupport

@Suite("Live host: connection limits, timeouts and rate limits, with a good client served meanwhile", .serialized)
struct LimitsLiveTests {
    static func host(_ change: (inout HostSettings) -> Void) async throws -> LiveHost {
        var settings = HostSettings()
        change(&settings)
        return try await LiveHost(settings: settings)
    }

    @Test("a client sending one byte at a time loses its slot at the read timeout (408); others are served")
    func slowSender() async throws {
        let host = try await Self.host { $0.readTimeoutSeconds = 1 }
        defer { Task { await host.stop() } }
        let slow = try RawHTTPConnection(port: host.port)
        let request = Array("POST /v1/activate HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n".utf8)
        // The slow client's pace is the scenario, not a wait for a timer: a byte every 100 ms from a thread.
        let trickle = Thread {
            for byte in request {
                guard (try? slow.send(Data([byte]))) != nil else { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        trickle.start()
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 1)
        let answer = try slow.readResponse()
        #expect(answer.status == 408)
        #expect(try answer.json()["code"] as? String == "0xC0A7000D")
        #expect(slow.readsEOF())
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 2)
    }

    @Test("an idle kept-alive connection is closed at the idle timeout")
    func idleTimeout() async throws {
        let host = try await Self.host { $0.idleTimeoutSeconds = 1 }
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
        #expect(try connection.post(ProtocolPaths.activate, body: body).status == 200)
        // Blocks until the host closes the connection (bounded by the socket's 10 s receive timeout).
        #expect(connection.readsEOF())
    }

    @Test("connections over the limit get 503 with 0xC0A7000C; a freed slot is usable again")
    func maxConnections() async throws {
        let host = try await Self.host { $0.maxConnections = 3 }
        defer { Task { await host.stop() } }
        var held = try (0..<3).map { _ in try RawHTTPConnection(port: host.port) }
        // Make sure the three are accepted before the fourth arrives.
        for connection in held {
            try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
        }
        let refused = try RawHTTPConnection(port: host.port)
        let answer = try refused.readResponse()
        #expect(answer.status == 503)
        #expect(try answer.json()["code"] as? String == "0xC0A7000C")
        held.removeLast()  // closes one
        var served = false
        for _ in 0..<200 where !served {
            if let connection = try? RawHTTPConnection(port: host.port) {
                try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                served = (try? connection.readResponse().status) == 200
            }
        }
        #expect(served)
        _ = held
    }

    @Test("one address over its rate gets 429 with 0xC0A7000B and nothing counted; another address is served")
    func rateLimit() async throws {
        let host = try await Self.host { $0.rateLimitPerAddress = 2 }
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        var statuses: [Int] = []
        for _ in 0..<20 {
            let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
            let response = try connection.post(ProtocolPaths.activate, body: body)
            statuses.append(response.status)
            if response.status == 429 { #expect(try response.json()["code"] as? String == "0xC0A7000B") }
        }
        let granted = statuses.filter { $0 == 200 }.count
        #expect(statuses.contains(429))
        #expect(granted >= 4 && granted < 20)
        #expect((try await host.count("client")) == granted)
        // Another client address has its own allowance.
        let other = try RawHTTPConnection(port: host.port, source: "127.0.0.2")
        let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
        #expect(try other.post(ProtocolPaths.activate, body: body).status == 200)
    }
}
