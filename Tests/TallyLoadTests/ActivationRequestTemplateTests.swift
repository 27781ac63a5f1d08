import Foundation
import TallyCore
import Testing
@testable import TallyLoad

@Suite("Prepared activation requests")
struct ActivationRequestTemplateTests {
    /// The head and the body of a filled request.
    func split(_ request: [UInt8]) throws -> (String, Data) {
        let text = String(decoding: request, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        #expect(parts.count == 2)
        return (parts[0], Data(parts[1].utf8))
    }

    @Test("a filled protocol-1 request is one the host's own decoder accepts, with a correct Content-Length")
    func acceptedByTheHost() throws {
        let template = ActivationRequestTemplate(version: 1)
        let (head, body) = try split(template.make())
        #expect(head.hasPrefix("POST /v1/activate HTTP/1.1\r\n"))
        #expect(head.contains("Content-Length: \(body.count)"))
        #expect(!head.contains("Connection: close"))
        let (decoded, policy) = try ActivationRequestBody.decode(body)
        #expect(decoded.ver == 1)
        #expect(decoded.sku == "studio-pro")
        #expect(CMID.validate(decoded.cmid) == decoded.cmid)
        #expect(policy.fingerprint.count == 64)
        #expect(abs(decoded.clientTime.date.timeIntervalSinceNow) < 3600)
        #expect(decoded.licenseStatus == "Initial grace")
    }

    @Test("protocol 2 with hch and without keep-alive")
    func version2() throws {
        let template = ActivationRequestTemplate(version: 2, certificateHash: "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80", keepAlive: false)
        let (head, body) = try split(template.make())
        #expect(head.contains("Connection: close"))
        let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(object["ver"] as? Int == 2)
        #expect(object["hch"] as? String == "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80")
        #expect((object["nonce"] as? String)?.count == 22)
    }

    @Test("every fill gives a new CMID, fingerprint and nonce")
    func fresh() throws {
        let template = ActivationRequestTemplate(version: 1)
        var random = SplitMix64()
        var seen = Set<String>()
        for _ in 0..<1000 {
            let (_, body) = try split(template.make(random: &random))
            let object = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            for key in ["cmid", "fingerprint", "nonce"] {
                #expect(seen.insert(key + ":" + (object[key] as? String ?? "")).inserted)
            }
        }
        #expect(seen.count == 3000)
    }
}
