import Foundation
import Testing
@testable import TallyClient
import TallyCore
import TallyFiles
import TallyTestSupport

/// `activate` over real sockets on loopback, against dead and fake hosts (no host server needed).
@Suite("Activation over HTTP: dead, broken and fake hosts")
struct HTTPExchangeTests {
    /// A client with studio-pro installed, pinned to `address`.
    func pinnedClient(_ fixture: ClientFixture, to address: String, readTimeout: TimeInterval = 5) throws -> TallyClient {
        let client = fixture.client(readTimeout: readTimeout)
        try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        try client.setHost(address)
        return client
    }

    /// A fake host: answers each request with a signed answer made by `answer` from the request.
    func fakeHost(_ fixture: ClientFixture, count: Int = 1, ipv6: Bool = false,
                  answer: @escaping @Sendable (ActivationRequestBody) throws -> String) throws -> LoopbackServer {
        let server = try LoopbackServer(ipv6: ipv6)
        server.serve(count: count) { request in
            guard let body = try? JSONDecoder().decode(ActivationRequestBody.self, from: request.body),
                  let token = try? answer(body)
            else { return LoopbackServer.response(400, "Bad Request", body: Data(#"{"code":"0xC0A70001","message":"bad"}"#.utf8)) }
            return LoopbackServer.response(200, "OK", body: try! TallyJSON.encode(ActivationResponseBody(response: token)))
        }
        return server
    }

    /// Grants a ticket to whoever asks, echoing the nonce.
    static func granting(_ fixture: ClientFixture, now: Date = Fixed.epoch) -> @Sendable (ActivationRequestBody) throws -> String {
        { body in
            let ticket = try fixture.ticket(cmid: body.cmid, fingerprint: body.fingerprint, sku: body.sku, at: now)
            return try fixture.answer(cmid: body.cmid, sku: body.sku, nonce: body.nonce, ticket: ticket, at: now)
        }
    }

    @Test("a host that accepts and never answers is C004F039 within the read timeout, recorded with events")
    func deadHost() throws {
        let fixture = try ClientFixture()
        let dead = try LoopbackServer()
        let client = try pinnedClient(fixture, to: dead.address, readTimeout: 0.5)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .hostDidNotRespond)
        #expect(error?.message.contains("did not answer within 0.5 s") == true)

        let report = try client.status(now: Fixed.epoch)
        #expect(report.lastResult == .hostDidNotRespond)
        #expect(report.host == dead.address)
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.nextAttempt > Fixed.epoch.addingTimeInterval(119 * 60))
        let events = try client.events()
        #expect(events.map(\.id) == [.requestSent, .responseProcessed])
        #expect(events[0].fields["host"] == dead.address)
        #expect(events[1].result == .hostDidNotRespond)
    }

    @Test("a closed port is C004F039 (refused)")
    func refused() throws {
        let fixture = try ClientFixture()
        let port = try LoopbackServer().port  // bound, then closed at once
        let client = try pinnedClient(fixture, to: "127.0.0.1:\(port)")
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .hostDidNotRespond)
        #expect(error?.message.contains("refused") == true)
    }

    @Test("with no host pinned: a clear error naming skms, recorded as the last result")
    func noHostPinned() throws {
        let fixture = try ClientFixture()
        let client = fixture.client()
        try client.installKey(fixture.setupKey("studio-pro"), now: Fixed.epoch)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .noDNSServer)
        #expect(error?.remedy.contains("tally client skms") == true)
        #expect(try client.status(now: Fixed.epoch).lastResult == .noDNSServer)
        #expect(try client.events().isEmpty)
    }

    @Test("a 500 that is not a Tally answer is a clear error, not a crash")
    func serverError() throws {
        let fixture = try ClientFixture()
        let server = try LoopbackServer()
        server.serve { _ in LoopbackServer.response(500, "Internal Server Error", body: Data("<html>oops</html>".utf8), contentType: "text/html") }
        let client = try pinnedClient(fixture, to: server.address)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .hostDidNotRespond)
        #expect(error?.message.contains("HTTP 500") == true)
        #expect(error?.message.contains("<html>oops</html>") == true)
        #expect(error?.remedy.contains("is a Tally host") == true)
    }

    @Test("a 200 that is not a Tally answer, and bytes that are not HTTP, are clear errors")
    func notTally() throws {
        let fixture = try ClientFixture()
        let server = try LoopbackServer()
        server.serve(count: 2) { request in
            request.body.isEmpty ? Data() : LoopbackServer.response(200, "OK", body: Data("hello".utf8), contentType: "text/plain")
        }
        let client = try pinnedClient(fixture, to: server.address)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .hostDidNotRespond)
        #expect(error?.message.contains("without a Tally answer") == true)

        let garbage = try LoopbackServer()
        garbage.serve { _ in Data("SSH-2.0-OpenSSH_9.6\r\n".utf8) }
        try client.setHost(garbage.address)
        let second = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(second?.code == .hostDidNotRespond)
        #expect(second?.message.contains("SSH-2.0") == true)
    }

    @Test("a host's error body {code, message} gives the host's code")
    func protocolError() throws {
        let fixture = try ClientFixture()
        let server = try LoopbackServer()
        server.serve { _ in
            LoopbackServer.response(400, "Bad Request", body: Data(#"{"code":"0xC0A70001","message":"nonce must be 16 to 64 base64url characters"}"#.utf8))
        }
        let client = try pinnedClient(fixture, to: server.address)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .malformedRequest)
        #expect(error?.message.contains("nonce must be") == true)
    }

    @Test("an unsigned error body claiming a decision (count too low, success) is not believed")
    func forgedUnsignedCode() throws {
        for code in ["0xC004F038", "0x00000000", "0xC004F042"] {
            let fixture = try ClientFixture()
            let server = try LoopbackServer()
            server.serve { _ in
                LoopbackServer.response(503, "Service Unavailable", body: Data(#"{"code":"\#(code)","message":"\u001b[2Jforged"}"#.utf8))
            }
            let client = try pinnedClient(fixture, to: server.address)
            let error = tallyError { try client.activate(now: Fixed.epoch) }
            #expect(error?.code == .hostDidNotRespond, "\(code)")
            #expect(error?.message.contains("unsigned") == true)
            #expect(error?.message.contains("\u{1B}") == false)
            #expect(try client.status(now: Fixed.epoch).lastResult != ResultCode.parse(code))
        }
    }

    @Test("an answer larger than 64 KiB is refused")
    func oversized() throws {
        let fixture = try ClientFixture()
        let server = try LoopbackServer()
        server.serve { _ in LoopbackServer.response(200, "OK", body: Data(repeating: 0x41, count: 70_000)) }
        let client = try pinnedClient(fixture, to: server.address)
        let error = tallyError { try client.activate(now: Fixed.epoch) }
        #expect(error?.code == .hostDidNotRespond)
        #expect(error?.message.contains("64 KiB") == true || error?.message.contains("limit") == true)
    }

    @Test("a fake host that grants: the request is well formed, the ticket verifies, events are recorded")
    func granted() throws {
        let fixture = try ClientFixture()
        let captured = Captured()
        let server = try fakeHost(fixture) { body in
            captured.set(body)
            return try HTTPExchangeTests.granting(fixture)(body)
        }
        let client = try pinnedClient(fixture, to: server.address)
        let outcome = try client.activate(now: Fixed.epoch)
        #expect(outcome.granted)
        #expect(outcome.result == .success)
        #expect(outcome.host == server.address)
        #expect(try client.status(now: Fixed.days(1)).licenseStatus == .licensed)

        let body = try #require(captured.value)
        #expect(throws: Never.self) { _ = try body.validated() }
        #expect(body.fingerprint == ClientFixture.machine("m1").fingerprint)
        #expect(body.machine == "m1")
        #expect(body.licenseStatus == "Initial grace")
        #expect(body.minutesToExpiry == Int32(30 * 1440))
        let events = try client.events()
        #expect(events.map(\.id) == [.requestSent, .responseProcessed])
        #expect(events[1].fields["activated"] == "true")
        #expect(events[1].result == .success)
    }

    @Test("the same over IPv6 loopback", .enabled(if: LoopbackServer.hasIPv6Loopback))
    func ipv6() throws {
        let fixture = try ClientFixture()
        let server = try fakeHost(fixture, ipv6: true, answer: HTTPExchangeTests.granting(fixture))
        let client = try pinnedClient(fixture, to: "[::1]:\(server.port)")
        #expect(try client.activate(now: Fixed.epoch).granted)
    }

    @Test("a chunked answer is read")
    func chunked() throws {
        let fixture = try ClientFixture()
        let server = try LoopbackServer()
        server.serve { request in
            let body = try! JSONDecoder().decode(ActivationRequestBody.self, from: request.body)
            let token = try! HTTPExchangeTests.granting(fixture)(body)
            let json = try! TallyJSON.encode(ActivationResponseBody(response: token))
            let half = json.count / 2
            var reply = Data("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            for part in [json.prefix(half), json.suffix(from: half)] {
                reply += Data((String(part.count, radix: 16) + "\r\n").utf8) + part + Data("\r\n".utf8)
            }
            return reply + Data("0\r\n\r\n".utf8)
        }
        let client = try pinnedClient(fixture, to: server.address)
        #expect(try client.activate(now: Fixed.epoch).granted)
    }

    @Test("a replayed answer over the wire is rejected and the machine stays unactivated")
    func replayOverTheWire() throws {
        let fixture = try ClientFixture()
        let server = try fakeHost(fixture) { body in
            let ticket = try fixture.ticket(cmid: body.cmid, fingerprint: body.fingerprint)
            return try fixture.answer(cmid: body.cmid, nonce: "an-old-nonce-from-before", ticket: ticket)
        }
        let client = try pinnedClient(fixture, to: server.address)
        #expect(tallyError { try client.activate(now: Fixed.epoch) }?.code == .answerRejected)
        let report = try client.status(now: Fixed.epoch)
        #expect(report.licenseStatus == .initialGrace)
        #expect(report.lastResult == .answerRejected)
    }

    @Test("renew-due attempts only what is due, and reports failures as outcomes")
    func renewIfDue() throws {
        let fixture = try ClientFixture()
        let server = try fakeHost(fixture, count: 2, answer: HTTPExchangeTests.granting(fixture))
        let client = try pinnedClient(fixture, to: server.address)
        let first = try client.renewIfDue(now: Fixed.epoch)
        #expect(first.map(\.granted) == [true])
        // Not due again until the renewal interval (7 days, plus jitter) has passed.
        #expect(try client.renewIfDue(now: Fixed.days(6)).isEmpty)

        let dead = try LoopbackServer()
        try client.setHost(dead.address)
        var short = client
        short.readTimeout = 0.3
        let later = try short.renewIfDue(now: Fixed.days(8))
        #expect(later.count == 1)
        #expect(later.first?.result == .hostDidNotRespond)
        #expect(later.first?.failure?.code == .hostDidNotRespond)
        // The ticket from day 0 is still valid.
        #expect(later.first?.licenseStatus == .licensed)
    }
}

/// A value set by the fake host's thread and read by the test.
final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ActivationRequestBody?

    func set(_ value: ActivationRequestBody) { lock.withLock { stored = value } }
    var value: ActivationRequestBody? { lock.withLock { stored } }
}

@Suite("HTTP answer parsing")
struct HTTPParserTests {
    let address = HostAddress(host: "127.0.0.1", port: 1688)
    let parser = HTTPResponseParser()

    @Test("an answer fed one byte at a time is complete only at its last byte")
    func byteByByte() throws {
        let wire = Data("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello".utf8)
        for end in 0..<wire.count {
            #expect(try parser.parse(wire.prefix(end), complete: false, address: address) == nil)
        }
        let response = try #require(try parser.parse(wire, complete: false, address: address))
        #expect(response.status == 200)
        #expect(response.body == Data("hello".utf8))
        #expect(response.header("x-a") == "b")
    }

    @Test("a chunked body split anywhere decodes the same")
    func chunkedSplits() throws {
        let wire = Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na;ext=1\r\n0123456789\r\n0\r\n\r\n".utf8)
        for end in 0..<wire.count - 1 {
            if let early = try parser.parse(wire.prefix(end), complete: false, address: address) {
                Issue.record("complete after \(end) bytes: \(early.body)")
            }
        }
        #expect(try parser.parse(wire, complete: false, address: address)?.body == Data("abc0123456789".utf8))
    }

    @Test("a chunk size near Int.max is incomplete or refused, never an overflow")
    func hugeChunk() throws {
        for size in ["7fffffffffffffff", "7ffffffffffffffe", "ffffffffffffffff"] {
            let wire = Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nabc".utf8)
            let parsed = try? parser.parse(wire, complete: false, address: address)
            #expect(parsed == nil, "\(size)")
            #expect(throws: HTTPFailure.self) { try parser.parse(wire, complete: true, address: address) }
        }
    }

    @Test("a body without a length runs to the close; a short body is an error")
    func toClose() throws {
        let open = Data("HTTP/1.0 200 OK\r\n\r\nabc".utf8)
        #expect(try parser.parse(open, complete: false, address: address) == nil)
        #expect(try parser.parse(open, complete: true, address: address)?.body == Data("abc".utf8))
        let short = Data("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
        #expect(throws: HTTPFailure.self) { try parser.parse(short, complete: true, address: address) }
        #expect(throws: HTTPFailure.self) { try parser.parse(Data("HTTP/1.1 abc\r\n\r\n".utf8), complete: false, address: address) }
        #expect(throws: HTTPFailure.self) { try parser.parse(Data("HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\n".utf8), complete: false, address: address) }
    }
}
