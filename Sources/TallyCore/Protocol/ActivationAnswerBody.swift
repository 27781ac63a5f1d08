import Crypto
import Foundation

/// A successful HTTP answer of protocol 2 (see openapi.yaml): one signed token, and the host certificate beside
/// it unless the request named, by `hch`, the certificate the client already holds.
///
/// The token is a ticket (`tally-ticket+jwt`) when the host grants: the ticket is itself the answer, with the
/// nonce, counts and intervals in its claims, so a grant carries one signature. A refusal is a response token
/// (`tally-response+jwt`). Neither header carries the certificate, and no token is nested in another.
/// A version-1 answer (`{"response": JWS}`, the certificate in every header, the ticket in `tkt`) is read too.
public struct ActivationAnswerBody: Codable, Sendable, Equatable {
    /// The signed token (protocol 2).
    public var token: String?
    /// The host certificate (compact JWS), when the client does not hold it.
    public var certificate: String?
    /// The signed response of protocol 1.
    public var response: String?

    public init(token: String, certificate: String?) {
        self.token = token
        self.certificate = certificate
    }

    public init(response: String) {
        self.response = response
    }
}

extension HostCertificate {
    /// `hch`: base64url of the SHA-256 of a certificate's compact form, by which a request names the certificate
    /// its client holds.
    public static func hash(ofCompact compact: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(compact.utf8))))
    }
}

extension VerifiedResponse {
    /// Verifies a protocol-2 answer: `token` signed by the host whose certificate is `certificate` (sent with the
    /// answer, or the one the client held and named by `hch`), which a trusted root signed; echoing `nonce`; for
    /// this machine. A grant's token is the ticket, verified as a ticket is at every status read.
    public static func verify(token: String, certificate: String?, roots: TrustedRoots, now: Date, nonce: String, cmid: String,
                              fingerprint: String) throws(TokenError) -> VerifiedResponse {
        guard let certificate else {
            throw TokenError(.missingCertificate, "the answer carries no host certificate and this client holds none it named")
        }
        let parsed = try JWS.parse(token, expectingOneOf: [.ticket, .response])
        guard parsed.header.hct == nil else {
            throw TokenError(.malformed, "a protocol-2 answer carries its certificate beside the token, never in its header")
        }
        if parsed.header.typ == TokenType.ticket.rawValue {
            // The claims are read once unverified, only to learn the host time at which the ticket is judged;
            // `VerifiedTicket.verify` then checks the chain and the signature before anything is believed.
            let unverified = try parsed.decodePayload(TicketClaims.self)
            let ticket = try VerifiedTicket.verify(token, certificate: certificate, roots: roots,
                                                   now: max(now, unverified.htm?.date ?? now), cmid: cmid, fingerprint: fingerprint)
            guard let claims = ticket.claims.answer else {
                throw TokenError(.malformed, "the grant is a ticket without the answer's members (res, req, ai, ri, htm, nce)")
            }
            guard claims.res.isSuccess else { throw TokenError(.malformed, "a ticket answers only a grant, not \(claims.res.hex)") }
            guard claims.nce == nonce else { throw TokenError(.nonceMismatch, "the answer does not echo this request's nonce") }
            return VerifiedResponse(claims: claims, certificate: ticket.certificate, ticket: ticket)
        }
        let (claims, host) = try verifiedClaims(parsed, certificate: certificate, roots: roots, now: now, nonce: nonce, cmid: cmid)
        guard claims.ver == 2 else { throw TokenError(.unsupportedVersion, "answer version \(claims.ver) without a certificate in its header") }
        guard claims.tkt == nil else { throw TokenError(.malformed, "a protocol-2 answer nests no token") }
        guard !claims.res.isSuccess else { throw TokenError(.malformed, "a grant is a ticket, not a response token") }
        return VerifiedResponse(claims: claims, certificate: host, ticket: nil)
    }
}
