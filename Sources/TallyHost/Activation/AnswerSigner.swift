import Crypto
import Foundation
import TallyCore
import TallyStore

/// Builds and signs the answer to a decided request: the one place an answer is made.
///
/// Protocol 2 (openapi.yaml): one token per answer, with no certificate in its header. A grant is the ticket
/// itself, carrying the answer's members (nonce, counts, intervals, host time); a refusal is a response token.
/// The certificate travels once, as the body's `certificate` member, and not at all when the request's `hch`
/// names it. A version-1 request gets the answer of protocol 1 (a response with the ticket nested in `tkt`, the
/// certificate in both headers), so clients of the first protocol still activate.
///
/// Headers are encoded once per certificate: encoding the certificate per answer cost as much as a signature.
public struct AnswerSigner: Sendable {
    public let key: SigningKey
    public let certificate: HostCertificate
    let ticketHeader: String
    let responseHeader: String
    let legacyTicketHeader: String
    let legacyResponseHeader: String
    /// `hch` of this host's certificate.
    let certificateHash: String
    /// The body's tail when the certificate is sent: `","certificate":"…"}`.
    let certificateTail: String

    public init(key: SigningKey, certificate: HostCertificate) throws {
        self.key = key
        self.certificate = certificate
        let hostID = certificate.claims.sub
        ticketHeader = try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: hostID))
        responseHeader = try JWS.encodeHeader(JWSHeader(typ: .response, kid: hostID))
        legacyTicketHeader = try JWS.encodeHeader(JWSHeader(typ: .ticket, kid: hostID, hct: certificate.compact))
        legacyResponseHeader = try JWS.encodeHeader(JWSHeader(typ: .response, kid: hostID, hct: certificate.compact))
        certificateHash = HostCertificate.hash(ofCompact: certificate.compact)
        // A compact JWS is base64url and dots only: no JSON escaping is needed anywhere in the body.
        certificateTail = #"",\#"certificate":""# + certificate.compact + #""}"#
    }

    /// The JSON body of the HTTP answer.
    public func answer(_ decided: DecidedRequest) throws -> String {
        let body = decided.request.body
        guard body.ver >= 2 else { return try legacyAnswer(decided) }
        let decision = decided.stored.decision
        let request = decided.request.input.request
        let hostID = certificate.claims.sub
        let token: String
        if let times = decision.ticket {
            let claims = TicketClaims(iss: hostID, sub: request.cmid, sku: request.sku, fpr: request.fingerprint, cnt: decision.currentCount,
                                      iat: times.issuedAt, rnw: times.renewAfter, exp: times.expires,
                                      answer: decision.code, req: decision.requiredCount, ai: decision.intervals.activation,
                                      ri: decision.intervals.renewal, htm: decided.stored.time, nce: body.nonce)
            token = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: ticketHeader, key: key.privateKey)
        } else {
            let claims = ResponseClaims(iss: hostID, sub: request.cmid, sku: request.sku, res: decision.code, cur: decision.currentCount,
                                        req: decision.requiredCount, ai: decision.intervals.activation, ri: decision.intervals.renewal,
                                        htm: decided.stored.time, nce: body.nonce, tkt: nil, ver: 2)
            token = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: responseHeader, key: key.privateKey)
        }
        if body.hch == certificateHash { return #"{"token":""# + token + #""}"# }
        return #"{"token":""# + token + certificateTail
    }

    /// Protocol 1: a response token with the ticket nested, the certificate in both headers.
    func legacyAnswer(_ decided: DecidedRequest) throws -> String {
        let decision = decided.stored.decision
        let request = decided.request.input.request
        let hostID = certificate.claims.sub
        var ticket: String?
        if let times = decision.ticket {
            let claims = TicketClaims(iss: hostID, sub: request.cmid, sku: request.sku, fpr: request.fingerprint, cnt: decision.currentCount,
                                      iat: times.issuedAt, rnw: times.renewAfter, exp: times.expires)
            ticket = try JWS.sign(payloadJSON: claims.jsonBytes, encodedHeader: legacyTicketHeader, key: key.privateKey)
        }
        let response = ResponseClaims(iss: hostID, sub: request.cmid, sku: request.sku, res: decision.code, cur: decision.currentCount,
                                      req: decision.requiredCount, ai: decision.intervals.activation, ri: decision.intervals.renewal,
                                      htm: decided.stored.time, nce: decided.request.body.nonce, tkt: ticket)
        let token = try JWS.sign(payloadJSON: response.jsonBytes, encodedHeader: legacyResponseHeader, key: key.privateKey)
        return #"{"response":""# + token + #""}"#
    }
}
