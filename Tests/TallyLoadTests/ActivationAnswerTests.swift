import Crypto
import Foundation
import TallyCore
import Testing
@testable import TallyLoad

/// Answers in both formats, signed with TallyCore's own JWS code, read back by the driver's byte parser.
@Suite("Activation answers read in both protocol formats")
struct ActivationAnswerTests {
    let key = Curve25519.Signing.PrivateKey()
    let certificate = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJob3N0In0.c2lnbmF0dXJl"

    func v1(result: ResultCode, cur: Int, ticket: Bool) throws -> [UInt8] {
        let tkt = ticket ? try JWS.sign(["sub": "cmid"], header: JWSHeader(typ: .ticket, kid: "host", hct: certificate), key: key) : nil
        let claims = ResponseClaims(iss: "host", sub: "cmid", sku: "studio-pro", res: result, cur: cur, req: 25, ai: 120, ri: 10080,
                                    htm: Date(), nce: "AAAAAAAAAAAAAAAAAAAAAA", tkt: tkt)
        let token = try JWS.sign(claims, header: JWSHeader(typ: .response, kid: "host", hct: certificate), key: key)
        return Array(try TallyJSON.encode(ActivationResponseBody(response: token)))
    }

    /// Protocol 2 as the host signs it: a grant is the ticket (its count in `cnt`), a refusal a response (`cur`).
    func v2(res: String, cur: Int, certificate included: Bool, spaced: Bool = false) throws -> [UInt8] {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let token: String
        if res == "0x00000000" {
            let claims = TicketClaims(iss: "host", sub: "cmid", sku: "studio-pro", fpr: String(repeating: "a", count: 64), cnt: cur, iat: now,
                                      rnw: now.addingTimeInterval(600_000), exp: now.addingTimeInterval(15_000_000),
                                      answer: .success, req: 25, ai: 120, ri: 10080, htm: now, nce: "AAAAAAAAAAAAAAAAAAAAAA")
            token = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: "host")), key: key)
        } else {
            let claims = ResponseClaims(iss: "host", sub: "cmid", sku: "studio-pro", res: try #require(ResultCode.parse(res)), cur: cur, req: 25,
                                        ai: 120, ri: 10080, htm: now, nce: "AAAAAAAAAAAAAAAAAAAAAA", tkt: nil, ver: 2)
            token = try JWS.sign(claims, header: JWSHeader(typ: .response, kid: "host"), key: key)
        }
        let separator = spaced ? "\n  " : ""
        var body = "{\(separator)\"token\"\(spaced ? " : " : ":")\"\(token)\""
        if included { body += ",\(separator)\"certificate\":\"\(certificate)\"" }
        return Array((body + "}").utf8)
    }

    @Test("protocol 1: a grant and a refusal, with their counts; the certificate travels twice in a grant")
    func version1() throws {
        let grant = try v1(result: .success, cur: 26, ticket: true)
        #expect(ActivationAnswer.parse(grant) == ActivationAnswer(format: .response, result: 0, current: 26))
        #expect(ActivationAnswer.parse(grant)?.granted == true)
        #expect(ActivationAnswer.certificateCopies(grant) == 2)
        let refusal = try v1(result: .countTooLow, cur: 3, ticket: false)
        #expect(ActivationAnswer.parse(refusal) == ActivationAnswer(format: .response, result: 0xC004_F038, current: 3))
        #expect(ActivationAnswer.certificateCopies(refusal) == 1)
    }

    @Test("protocol 2: a grant with and without the certificate, a refusal, spaced JSON")
    func version2() throws {
        let grant = try v2(res: "0x00000000", cur: 27, certificate: true)
        #expect(ActivationAnswer.parse(grant) == ActivationAnswer(format: .token, result: 0, current: 27))
        #expect(ActivationAnswer.certificateCopies(grant) == 1)
        let held = try v2(res: "0x00000000", cur: 28, certificate: false, spaced: true)
        #expect(ActivationAnswer.parse(held) == ActivationAnswer(format: .token, result: 0, current: 28))
        #expect(ActivationAnswer.certificateCopies(held) == 0)
        let refusal = try v2(res: "0xC004F038", cur: 4, certificate: false)
        #expect(ActivationAnswer.parse(refusal) == ActivationAnswer(format: .token, result: 0xC004_F038, current: 4))
        #expect(ActivationAnswer.parse(refusal)?.granted == false)
    }

    @Test("a result code given as a number is read too")
    func numericResult() throws {
        let payload = Base64URL.encode(Data("{\"res\": -1073418184, \"cur\": 5}".utf8))
        let body = Array("{\"token\":\"e30.\(payload).c2ln\"}".utf8)
        #expect(ActivationAnswer.parse(body) == ActivationAnswer(format: .token, result: 0xC004_F038, current: 5))
    }

    @Test("what is not an answer is nil", arguments: [
        "{}", "{\"code\":\"0xC0A70001\",\"message\":\"bad\"}", "{\"token\":\"notajws\"}", "{\"token\":\"a.!!!.b\"}",
        "{\"response\":\"e30.e30.c2ln\"}", "not json",
    ])
    func notAnAnswer(_ text: String) {
        #expect(ActivationAnswer.parse(Array(text.utf8)) == nil)
    }

    @Test("the base64url decoder matches TallyCore's on every length")
    func base64() {
        var output: [UInt8] = []
        for length in 0..<70 {
            let data = Data((0..<length).map { UInt8(($0 * 37 + length) % 256) })
            let encoded = Array(Base64URL.encode(data).utf8)
            #expect(encoded.withUnsafeBufferPointer { Base64URLBytes.decode($0, into: &output) })
            #expect(output == Array(data))
        }
        #expect(!Array("ab+/".utf8).withUnsafeBufferPointer { Base64URLBytes.decode($0, into: &output) })
        #expect(!Array("abcde".utf8).withUnsafeBufferPointer { Base64URLBytes.decode($0, into: &output) })
    }
}
