import Crypto
import Foundation

/// The claims of a host's answer to an activation request. Every answer is signed, refusals too.
public struct ResponseClaims: Codable, Sendable, Equatable {
    public var ver: Int
    /// Host id.
    public var iss: String
    /// CMID the answer is for.
    public var sub: String
    public var sku: String
    /// Result code.
    public var res: ResultCode
    /// Current count for the SKU's class, including this machine when counted.
    public var cur: Int
    /// Required count for the class.
    public var req: Int
    /// Activation (retry) interval in minutes, clamped to 15 min .. 30 days.
    public var ai: Int
    /// Renewal interval in minutes, clamped likewise.
    public var ri: Int
    /// Host time.
    public var htm: NumericDate
    /// The request's nonce, echoed.
    public var nce: String
    /// The ticket, when granted.
    public var tkt: String?

    public init(iss: String, sub: String, sku: String, res: ResultCode, cur: Int, req: Int, ai: Int, ri: Int,
                htm: Date, nce: String, tkt: String?, ver: Int = 1) {
        self.ver = ver
        self.iss = iss
        self.sub = sub
        self.sku = sku
        self.res = res
        self.cur = cur
        self.req = req
        self.ai = Intervals.clamp(minutes: ai)
        self.ri = Intervals.clamp(minutes: ri)
        self.htm = NumericDate(htm)
        self.nce = nce
        self.tkt = tkt
    }
}

/// A verified answer from a host.
public struct VerifiedResponse: Sendable {
    public let claims: ResponseClaims
    public let certificate: HostCertificate
    /// The ticket, verified for the same machine, when the answer grants one.
    public let ticket: VerifiedTicket?

    public static func issue(_ claims: ResponseClaims, hostKey: Curve25519.Signing.PrivateKey, certificate: HostCertificate) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .response, kid: certificate.claims.sub, hct: certificate.compact), key: hostKey)
    }

    /// Verifies an answer: signed by a host the vendor certified, echoing `nonce`, for this machine.
    public static func verify(_ compact: String, roots: TrustedRoots, now: Date, nonce: String, cmid: String,
                              fingerprint: String) throws(TokenError) -> VerifiedResponse {
        let parsed = try JWS.parse(compact, expecting: .response)
        guard let hct = parsed.header.hct else { throw TokenError(.missingCertificate, "the answer carries no host certificate") }
        let (claims, certificate) = try verifiedClaims(parsed, certificate: hct, roots: roots, now: now, nonce: nonce, cmid: cmid)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "answer version \(claims.ver)") }
        var ticket: VerifiedTicket?
        if let tkt = claims.tkt {
            ticket = try VerifiedTicket.verify(tkt, roots: roots, now: max(now, claims.htm.date), cmid: cmid, fingerprint: fingerprint, sku: claims.sku)
        }
        return VerifiedResponse(claims: claims, certificate: certificate, ticket: ticket)
    }

    /// The steps every response token takes, whatever its version: the host certificate (`compact`) verified with
    /// the clock tolerance (the client's clock may be wrong; the certificate's validity is judged again on any
    /// ticket), the token's `kid` naming its host, the signature by the certificate's key, then the claims echoing
    /// `nonce` for `cmid`.
    static func verifiedClaims(_ parsed: JWS.Parsed, certificate compact: String, roots: TrustedRoots, now: Date, nonce: String,
                               cmid: String) throws(TokenError) -> (ResponseClaims, HostCertificate) {
        let certificate = try HostCertificate.verify(compact, roots: roots, now: now, skew: Intervals.clockSkewTolerance)
        guard parsed.header.kid == certificate.claims.sub else { throw TokenError(.issuerMismatch, "the answer's kid is not the certificate's host") }
        try parsed.verify(with: certificate.hostKey)
        let claims = try parsed.decodePayload(ResponseClaims.self)
        guard claims.nce == nonce else { throw TokenError(.nonceMismatch, "the answer does not echo this request's nonce") }
        guard claims.sub == cmid else { throw TokenError(.wrongSubject, "the answer is for another CMID") }
        return (claims, certificate)
    }
}
