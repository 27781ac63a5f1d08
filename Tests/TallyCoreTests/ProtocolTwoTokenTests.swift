import Crypto
import Foundation
import Testing
@testable import TallyCore

/// Protocol 2's answers as values: a grant is one ticket token, a refusal one response token, neither with a
/// certificate header, the certificate given beside them.
@Suite("Protocol 2 answers: one token, the certificate beside it")
struct ProtocolTwoTokenTests {
    let f = TokenFixture()

    func grantClaims(nonce: String = "nonce-1", res: ResultCode = .success) -> TicketClaims {
        TicketClaims(iss: f.hostID, sub: f.cmid, sku: "studio-pro", fpr: f.fingerprint, cnt: 25, iat: Fixed.epoch,
                     rnw: Fixed.epoch.addingTimeInterval(7 * Fixed.day), exp: Fixed.epoch.addingTimeInterval(Intervals.activationValidity),
                     answer: res, req: 25, ai: 120, ri: 10_080, htm: Fixed.epoch, nce: nonce, jti: "jti-2")
    }

    func sign<C: Encodable>(_ claims: C, typ: TokenType, hct: String? = nil) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: typ, kid: f.hostID, hct: hct), key: f.hostKey)
    }

    func verify(_ token: String, certificate: String?, nonce: String = "nonce-1") throws -> VerifiedResponse {
        try VerifiedResponse.verify(token: token, certificate: certificate, roots: f.roots, now: Fixed.epoch, nonce: nonce,
                                    cmid: f.cmid, fingerprint: f.fingerprint)
    }

    @Test("a grant verifies as an answer and as a ticket; the hand-written JSON decodes to the same claims")
    func grantRoundTrip() throws {
        let claims = grantClaims()
        let token = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: f.hostID)),
                                 key: f.hostKey)
        #expect(try TallyJSON.decode(TicketClaims.self, from: Data(claims.jsonBytes)) == claims)
        let verified = try verify(token, certificate: f.certificateCompact)
        #expect(verified.claims.res == .success && verified.claims.cur == 25 && verified.claims.req == 25 && verified.claims.ver == 2)
        #expect(verified.ticket?.compact == token)
        let ticket = try VerifiedTicket.verify(token, certificate: f.certificateCompact, roots: f.roots, now: Fixed.days(1), cmid: f.cmid)
        #expect(ticket.claims.nce == "nonce-1")
    }

    @Test("a refusal verifies with the certificate held; without any certificate nothing verifies")
    func refusal() throws {
        let claims = ResponseClaims(iss: f.hostID, sub: f.cmid, sku: "studio-pro", res: .countTooLow, cur: 3, req: 25, ai: 120, ri: 10_080,
                                    htm: Fixed.epoch, nce: "nonce-1", tkt: nil, ver: 2)
        let token = try sign(claims, typ: .response)
        #expect(try verify(token, certificate: f.certificateCompact).claims.cur == 3)
        #expect(tokenRejection { try verify(token, certificate: nil) } == .missingCertificate)
        #expect(tokenRejection { try verify(token, certificate: f.certificateCompact, nonce: "other-nonce") } == .nonceMismatch)
    }

    @Test("what protocol 2 forbids is refused: a certificate header, a nested ticket, a grant as a response, a ticket without the answer, a version-1 payload")
    func forbiddenShapes() throws {
        let grant = grantClaims()
        #expect(tokenRejection { try verify(try sign(grant, typ: .ticket, hct: f.certificateCompact), certificate: f.certificateCompact) } == .malformed)
        let nested = ResponseClaims(iss: f.hostID, sub: f.cmid, sku: "studio-pro", res: .countTooLow, cur: 3, req: 25, ai: 120, ri: 10_080,
                                    htm: Fixed.epoch, nce: "nonce-1", tkt: f.issueTicket(f.ticketClaims()), ver: 2)
        #expect(tokenRejection { try verify(try sign(nested, typ: .response), certificate: f.certificateCompact) } == .malformed)
        let grantAsResponse = ResponseClaims(iss: f.hostID, sub: f.cmid, sku: "studio-pro", res: .success, cur: 25, req: 25, ai: 120, ri: 10_080,
                                             htm: Fixed.epoch, nce: "nonce-1", tkt: nil, ver: 2)
        #expect(tokenRejection { try verify(try sign(grantAsResponse, typ: .response), certificate: f.certificateCompact) } == .malformed)
        var bare = f.ticketClaims()
        bare.ver = 2
        #expect(tokenRejection { try verify(try sign(bare, typ: .ticket), certificate: f.certificateCompact) } == .malformed)
        let versionOne = f.responseClaims(res: .countTooLow)
        #expect(tokenRejection { try verify(try sign(versionOne, typ: .response), certificate: f.certificateCompact) } == .unsupportedVersion)
        // A version-1 ticket kept without its header certificate is not taken for version 2.
        let v1 = try sign(f.ticketClaims(), typ: .ticket)
        #expect(tokenRejection { try VerifiedTicket.verify(v1, certificate: f.certificateCompact, roots: f.roots, now: Fixed.days(1)) } == .unsupportedVersion)
    }

    @Test("a grant's signed bytes edited (a higher count) do not verify; another host's certificate does not verify it")
    func tampering() throws {
        let token = try sign(grantClaims(), typ: .ticket)
        let parts = token.split(separator: ".").map(String.init)
        var edited = grantClaims()
        edited.cnt = 1_000
        let tampered = [parts[0], Base64URL.encode(try TallyJSON.encode(edited)), parts[2]].joined(separator: ".")
        #expect(tokenRejection { try verify(tampered, certificate: f.certificateCompact) } == .badSignature)
        let other = TokenFixture(hostKey: fixedPrivateKey(9))
        #expect(tokenRejection { try verify(token, certificate: other.certificateCompact) } == .badSignature)
    }

    @Test("hch is the base64url SHA-256 of the certificate's compact form; a request validates it")
    func certificateHash() throws {
        let hash = HostCertificate.hash(ofCompact: f.certificateCompact)
        #expect(hash.utf8.count == 43)
        #expect(Base64URL.decode(hash) == Data(SHA256.hash(data: Data(f.certificateCompact.utf8))))
        var body = ActivationRequestBody(cmid: f.cmid, sku: "studio-pro", fingerprint: f.fingerprint, machine: "m", clientTime: Fixed.epoch,
                                         nonce: "nonce-nonce-nonce-1", licenseStatus: .initialGrace, minutesToExpiry: nil, certificateHash: hash)
        #expect(body.ver == 2)
        #expect(throws: Never.self) { try body.validated() }
        body.hch = "short"
        #expect(throws: TallyError.self) { try body.validated() }
        body.hch = nil
        body.ver = 1
        #expect(throws: Never.self) { try body.validated() }
    }
}
