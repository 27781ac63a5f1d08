import Crypto
import Foundation

/// The claims of an activation ticket: a host says this machine (CMID and fingerprint) may run this SKU until `exp`.
public struct TicketClaims: Codable, Sendable, Equatable {
    public var ver: Int
    /// Host id.
    public var iss: String
    /// CMID.
    public var sub: String
    public var sku: String
    /// Machine fingerprint.
    public var fpr: String
    /// The count when issued.
    public var cnt: Int
    public var iat: NumericDate
    /// Renew after this time.
    public var rnw: NumericDate
    public var exp: NumericDate
    public var jti: String
    // Protocol 2: a grant is one token, the ticket, which is also the answer. These members are present then and
    // absent from a version-1 ticket (whose answer was a response token carrying the ticket in `tkt`).
    /// Result code (success).
    public var res: ResultCode?
    /// Required count for the class.
    public var req: Int?
    /// Activation (retry) and renewal intervals in minutes, clamped to 15 min .. 30 days.
    public var ai: Int?
    public var ri: Int?
    /// Host time of the answer.
    public var htm: NumericDate?
    /// The request's nonce, echoed.
    public var nce: String?

    public init(iss: String, sub: String, sku: String, fpr: String, cnt: Int, iat: Date, rnw: Date, exp: Date, jti: String = TicketClaims.newID()) {
        ver = 1
        self.iss = iss
        self.sub = sub
        self.sku = sku
        self.fpr = fpr
        self.cnt = cnt
        self.iat = NumericDate(iat)
        self.rnw = NumericDate(rnw)
        self.exp = NumericDate(exp)
        self.jti = jti
    }

    /// A protocol-2 grant: the ticket that is also the signed answer to one request.
    public init(iss: String, sub: String, sku: String, fpr: String, cnt: Int, iat: Date, rnw: Date, exp: Date,
                answer res: ResultCode, req: Int, ai: Int, ri: Int, htm: Date, nce: String, jti: String = TicketClaims.newID()) {
        self.init(iss: iss, sub: sub, sku: sku, fpr: fpr, cnt: cnt, iat: iat, rnw: rnw, exp: exp, jti: jti)
        ver = 2
        self.res = res
        self.req = req
        self.ai = Intervals.clamp(minutes: ai)
        self.ri = Intervals.clamp(minutes: ri)
        self.htm = NumericDate(htm)
        self.nce = nce
    }

    /// A ticket id: 16 random bytes as hex (random enough to be unique, without a UUID's formatting cost on the
    /// host's hot path).
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = (generator.next() as UInt64, generator.next() as UInt64)
        return Hex.fixed(words.0) + Hex.fixed(words.1)
    }

    /// The answer a protocol-2 grant carries, as the claims of a response; `nil` for a version-1 ticket.
    public var answer: ResponseClaims? {
        guard ver == 2, let res, let req, let ai, let ri, let htm, let nce else { return nil }
        return ResponseClaims(iss: iss, sub: sub, sku: sku, res: res, cur: cnt, req: req, ai: ai, ri: ri, htm: htm.date, nce: nce, tkt: nil, ver: 2)
    }
}

/// A ticket whose whole chain was verified: vendor root → host certificate → ticket.
public struct VerifiedTicket: Sendable {
    public let compact: String
    public let claims: TicketClaims
    public let certificate: HostCertificate

    /// Signs a ticket with the host's key. A version-1 ticket carries the host certificate in its header; a
    /// version-2 ticket does not (the certificate travels beside it, and the client keeps it with the ticket).
    public static func issue(_ claims: TicketClaims, hostKey: Curve25519.Signing.PrivateKey, certificate: HostCertificate) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .ticket, kid: certificate.claims.sub, hct: claims.ver == 1 ? certificate.compact : nil), key: hostKey)
    }

    /// Verifies a ticket offline at `now`.
    ///
    /// - Parameters:
    ///   - cmid: when given, the ticket must be for this machine id.
    ///   - fingerprint: when given, the ticket must be for this machine fingerprint (a copied state is refused).
    ///   - sku: when given, the ticket must be for this SKU.
    ///   - certificate: the host certificate kept with a version-2 ticket (whose header carries none); a
    ///     version-1 ticket's own `hct` header is used instead.
    public static func verify(_ compact: String, certificate held: String? = nil, roots: TrustedRoots, now: Date, cmid: String? = nil,
                              fingerprint: String? = nil, sku: String? = nil) throws(TokenError) -> VerifiedTicket {
        let parsed = try JWS.parse(compact, expecting: .ticket)
        // Version 1 carries its certificate in the header; version 2 never does (it travels beside the token).
        let version = parsed.header.hct == nil ? 2 : 1
        guard let hct = parsed.header.hct ?? held else { throw TokenError(.missingCertificate, "the ticket carries no host certificate and none is kept with it") }
        let certificate = try HostCertificate.verify(hct, roots: roots, now: now)
        guard parsed.header.kid == certificate.claims.sub else { throw TokenError(.issuerMismatch, "the ticket's kid is not the certificate's host") }
        try parsed.verify(with: certificate.hostKey)
        let claims = try parsed.decodePayload(TicketClaims.self)
        guard claims.ver == version else {
            throw TokenError(.unsupportedVersion, "ticket version \(claims.ver) \(version == 1 ? "with" : "without") a certificate in its header")
        }
        guard claims.iss == certificate.claims.sub else { throw TokenError(.issuerMismatch, "the ticket's issuer is not the certificate's host") }
        guard certificate.claims.productClass(of: claims.sku) != nil else { throw TokenError(.wrongSKU, "the host certificate does not cover \(claims.sku)") }
        guard claims.exp <= certificate.claims.exp else { throw TokenError(.outlivesCertificate, "the ticket expires after its host certificate") }
        // Whoever holds the host's key can sign tickets, so their lifetime is checked here, not trusted to the host.
        guard claims.iat >= certificate.claims.nbf, claims.iat < certificate.claims.exp else {
            throw TokenError(.issuedOutsideCertificate, "the ticket was issued at \(claims.iat.date), outside its host certificate's validity (\(certificate.claims.nbf.date) … \(certificate.claims.exp.date))")
        }
        guard claims.exp - claims.iat <= NumericDate(Intervals.activationValidity) else {
            throw TokenError(.lifetimeTooLong, "the ticket is valid for \((claims.exp - claims.iat) / 86_400) days from its issue; at most \(Int(Intervals.activationValidity / 86_400)) are allowed")
        }
        guard NumericDate(now) < claims.exp else { throw TokenError(.expired, "the ticket expired at \(claims.exp.date)") }
        if let cmid, claims.sub != cmid { throw TokenError(.wrongSubject, "the ticket is for CMID \(claims.sub), not \(cmid)") }
        if let fingerprint, claims.fpr != fingerprint { throw TokenError(.wrongFingerprint, "the ticket was issued to another machine") }
        if let sku, claims.sku != sku { throw TokenError(.wrongSKU, "the ticket is for \(claims.sku), not \(sku)") }
        return VerifiedTicket(compact: compact, claims: claims, certificate: certificate)
    }
}
