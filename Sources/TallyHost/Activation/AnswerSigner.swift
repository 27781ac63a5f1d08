import Crypto
import Foundation
import TallyCore
import TallyStore

/// Builds and signs the answer to a decided request: the one place an answer is made.
///
/// The host key with the headers of its tokens encoded once per certificate (encoding the certificate per answer
/// cost as much as a signature).
public struct AnswerSigner: Sendable {
    public let key: SigningKey
    public let certificate: HostCertificate
    let ticketHeader: String
    let responseHeader: String

    public init(key: SigningKey, certificate: HostCertificate) throws {
        self.key = key
        self.certificate = certificate
        ticketHeader = try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: certificate.claims.sub, hct: certificate.compact))
        responseHeader = try JWS.encodeHeader(JWSHeader(typ: .response, kid: certificate.claims.sub, hct: certificate.compact))
    }

    /// The JSON body of the HTTP answer.
    public func answer(_ decided: DecidedRequest) throws -> String {
        let decision = decided.stored.decision
        let request = decided.request.input.request
        let hostID = certificate.claims.sub
        var ticket: String?
        if let times = decision.ticket {
            let claims = TicketClaims(iss: hostID, sub: request.cmid, sku: request.sku, fpr: request.fingerprint, cnt: decision.currentCount,
                                      iat: times.issuedAt, rnw: times.renewAfter, exp: times.expires)
            ticket = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: ticketHeader, key: key.privateKey)
        }
        let response = ResponseClaims(iss: hostID, sub: request.cmid, sku: request.sku, res: decision.code, cur: decision.currentCount,
                                      req: decision.requiredCount, ai: decision.intervals.activation, ri: decision.intervals.renewal,
                                      htm: decided.stored.time, nce: decided.request.body.nonce, tkt: ticket)
        let token = try JWS.sign(payloadJSON: response.jsonBytes, encodedHeader: responseHeader, key: key.privateKey)
        // The token is base64url and dots only: no JSON escaping is needed.
        return #"{"response":""# + token + #""}"#
    }
}
