import Foundation
import NIOCore
import Testing
import TallyCore
import TallyTestSupport
import TallyVendor
import TallyVendorServer

/// The limits are the same with and without TLS; these run on plain HTTP on loopback so the test can send exact bytes.
@Suite("Online vendor: body cap, read timeout, rate limit, connection limit, JSON errors", .serialized)
struct VendorServerLimitsTests {
    static func code(_ response: RawHTTPConnection.Response) throws -> String? {
        try response.json()["code"] as? String
    }

    @Test("health answers GET; unknown paths, wrong methods and bodies that are not JSON get {code, message}")
    func errors() async throws {
        try await withOnlineVendor(tls: false) { vendor in
            let connection = try RawHTTPConnection(port: vendor.server.port)
            try connection.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            let health = try connection.readResponse()
            #expect(try health.status == 200 && (health.json()["status"] as? String) == "ok")
            try connection.send("GET /v1/host/activate HTTP/1.1\r\nHost: v\r\n\r\n")
            let wrongMethod = try connection.readResponse()
            #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "POST")
            let missing = try connection.post("/v1/nothing", body: Data("{}".utf8))
            #expect(try missing.status == 404 && (Self.code(missing)) == "0xC0A70001")
            let garbage = try connection.post(VendorPaths.activate, body: Data("not json".utf8))
            #expect(try garbage.status == 400 && (Self.code(garbage)) == "0xC0A70001")
            let forged = try connection.post(VendorPaths.activate, body: try TallyJSON.encode(VendorRequestBody(request: "a.b.c")))
            #expect(try forged.status == 400 && (Self.code(forged)) == "0xC0A70002")
            // The connection served all of these and is still usable.
            try connection.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
        }
    }

    @Test("a body over the cap is 413 and the connection is closed, whether announced or streamed")
    func bodyCap() async throws {
        try await withOnlineVendor(configure: { $0.maxBodyBytes = 4096 }, tls: false) { vendor in
            let announced = try RawHTTPConnection(port: vendor.server.port)
            try announced.send("POST \(VendorPaths.report) HTTP/1.1\r\nHost: v\r\nContent-Length: 100000\r\n\r\n")
            let refused = try announced.readResponse()
            #expect(try refused.status == 413 && (Self.code(refused)) == "0xC0A70001")
            #expect(announced.readsEOF())
            let streamed = try RawHTTPConnection(port: vendor.server.port)
            try streamed.send("POST \(VendorPaths.report) HTTP/1.1\r\nHost: v\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = String(repeating: "x", count: 3000)
            try streamed.send("\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n")
            #expect(try streamed.readResponse().status == 413)
        }
    }

    @Test("a request not complete within the read timeout gets 408 with 0xC0A7002F")
    func readTimeout() async throws {
        try await withOnlineVendor(configure: { $0.readTimeout = .milliseconds(200) }, tls: false) { vendor in
            let slow = try RawHTTPConnection(port: vendor.server.port)
            try slow.send("POST \(VendorPaths.activate) HTTP/1.1\r\nHost: v\r\nContent-Length: 50\r\n\r\n{\"request\":")
            let answer = try slow.readResponse()
            #expect(try answer.status == 408 && (Self.code(answer)) == "0xC0A7002F")
            #expect(slow.readsEOF())
        }
    }

    @Test("per address: the burst passes, the next request is 429 with 0xC0A7002E while time stands still, and passes once it moves")
    func rateLimit() async throws {
        let clock = ManualSeconds()
        try await withOnlineVendor(configure: { $0.ratePerAddress = 1; $0.burstPerAddress = 3 }, tls: false, rateClock: { clock.now }) { vendor in
            let connection = try RawHTTPConnection(port: vendor.server.port)
            let body = try TallyJSON.encode(VendorRequestBody(request: "a.b.c"))
            let statuses = try (0..<4).map { _ in try connection.post(VendorPaths.activate, body: body).status }
            #expect(statuses == [400, 400, 400, 429])
            let limited = try connection.post(VendorPaths.activate, body: body)
            #expect((try Self.code(limited)) == "0xC0A7002E")
            try connection.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
            clock.advance(1)
            #expect(try connection.post(VendorPaths.activate, body: body).status == 400)
        }
    }

    @Test("over the connection limit a connection's request is answered 503 with 0xC0A7002F")
    func connectionLimit() async throws {
        try await withOnlineVendor(configure: { $0.maxConnections = 1 }, tls: false) { vendor in
            let first = try RawHTTPConnection(port: vendor.server.port)
            try first.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            #expect(try first.readResponse().status == 200)
            let second = try RawHTTPConnection(port: vendor.server.port)
            try second.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            let refused = try second.readResponse()
            #expect(try refused.status == 503 && (Self.code(refused)) == "0xC0A7002F")
            try first.send("GET /health HTTP/1.1\r\nHost: v\r\n\r\n")
            #expect(try first.readResponse().status == 200)
        }
    }
}

/// Seconds that move only when the test says so.
final class ManualSeconds: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double = 1_000

    var now: Double { lock.withLock { value } }
    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}
