import Foundation
import Testing
import TallyCore
import TallyHost
import TallyTestSupport

/// Protocol 2 on a live host: one token per answer, the certificate at most once and beside it, and clients of
/// protocol 1 still served.
@Suite("Live host: protocol 2 answers, and protocol 1 clients", .serialized)
struct ProtocolLiveTests {
    /// Counts machines up to the threshold so the next one is granted.
    static func reachThreshold(_ host: LiveHost) throws {
        for _ in 1..<25 { _ = try host.activate(LiveHost.Machine()) }
    }

    static func post(_ host: LiveHost, _ machine: LiveHost.Machine, version: Int = 2, hch: String? = nil) throws -> (ActivationAnswerBody, Data, String) {
        let (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: host.clock.now(), version: version, certificateHash: hch)
        let response = try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        #expect(response.status == 200)
        return (try TallyJSON.decode(ActivationAnswerBody.self, from: response.body), response.body, nonce)
    }

    @Test("a grant is one ticket token whose header has no certificate; the certificate comes once, beside it; the ticket verifies offline from the vendor key alone")
    func grantIsOneToken() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        try Self.reachThreshold(host)
        let machine = LiveHost.Machine()
        let (answer, raw, nonce) = try Self.post(host, machine)
        let token = try #require(answer.token)
        let certificate = try #require(answer.certificate)
        #expect(answer.response == nil)
        #expect(certificate == host.runtime.state.certificate?.compact)
        // The certificate's text appears once in the whole body: not in a header, not nested.
        #expect(String(decoding: raw, as: UTF8.self).components(separatedBy: certificate).count == 2)
        let parsed = try JWS.parse(token, expecting: .ticket)
        #expect(parsed.header.hct == nil)
        let claims = try parsed.decodePayload(TicketClaims.self)
        #expect(claims.ver == 2 && claims.nce == nonce && claims.cnt == 25 && claims.req == 25 && claims.res == .success)
        // Offline: vendor root → certificate → ticket, nothing else.
        let ticket = try VerifiedTicket.verify(token, certificate: certificate, roots: host.fixture.roots(), now: host.clock.now(),
                                               cmid: machine.cmid, fingerprint: machine.fingerprint, sku: "studio-pro")
        #expect(ticket.claims.sub == machine.cmid)
        // Without the certificate it cannot be verified; with another host's certificate it does not verify.
        #expect(throws: TokenError.self) { try VerifiedTicket.verify(token, roots: host.fixture.roots(), now: host.clock.now()) }
        let verified = try host.result(ofAnswer: raw, nonce: nonce, machine: machine)
        #expect(verified.ticket != nil && verified.claims.cur == 25)
    }

    @Test("a request naming the certificate it holds (hch) gets none; naming another gets it; a refusal is a response token")
    func certificateLeftOutWhenHeld() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let certificate = try #require(host.runtime.state.certificate?.compact)
        let held = HostCertificate.hash(ofCompact: certificate)
        let machine = LiveHost.Machine()
        let (refusal, raw, nonce) = try Self.post(host, machine, hch: held)
        #expect(refusal.certificate == nil)
        let token = try #require(refusal.token)
        #expect(try JWS.parse(token, expecting: .response).header.hct == nil)
        let claims = try JWS.parse(token, expecting: .response).decodePayload(ResponseClaims.self)
        #expect(claims.ver == 2 && claims.tkt == nil && claims.res == .countTooLow)
        // The client verifies with the certificate it named; without one it cannot.
        #expect(try host.result(ofAnswer: raw, nonce: nonce, machine: machine, held: certificate).claims.res == .countTooLow)
        #expect(throws: TokenError.self) { try host.result(ofAnswer: raw, nonce: nonce, machine: machine) }
        let other = HostCertificate.hash(ofCompact: certificate + "x")
        let (withCertificate, _, _) = try Self.post(host, LiveHost.Machine(), hch: other)
        #expect(withCertificate.certificate == certificate)
    }

    @Test("a client of protocol 1 still activates: a response with the ticket nested, the certificate in the headers")
    func versionOneStillActivates() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        try Self.reachThreshold(host)
        let machine = LiveHost.Machine()
        let (answer, raw, nonce) = try Self.post(host, machine, version: 1)
        #expect(answer.token == nil && answer.certificate == nil)
        let response = try #require(answer.response)
        #expect(try JWS.parse(response, expecting: .response).header.hct == host.runtime.state.certificate?.compact)
        let verified = try host.result(ofAnswer: raw, nonce: nonce, machine: machine)
        #expect(verified.claims.ver == 1 && verified.claims.res == .success && verified.claims.cur == 25)
        let ticket = try #require(verified.claims.tkt)
        #expect(try VerifiedTicket.verify(ticket, roots: host.fixture.roots(), now: host.clock.now(), cmid: machine.cmid).claims.ver == 1)
    }
}
