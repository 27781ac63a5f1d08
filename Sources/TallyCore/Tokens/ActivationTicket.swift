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

    public init(iss: String, sub: String, sku: String, fpr: String, cnt: Int, iat: Date, rnw: Date, exp: Date, jti: String = UUID().uuidString.lowercased()) {
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
}

/// A ticket whose whole chain was verified: vendor root → host certificate → ticket.
public struct VerifiedTicket: Sendable {
    public let compact: String
    public let claims: TicketClaims
    public let certificate: HostCertificate

    /// Signs a ticket with the host's key; the header carries the host certificate.
    public static func issue(_ claims: TicketClaims, hostKey: Curve25519.Signing.PrivateKey, certificate: HostCertificate) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .ticket, kid: certificate.claims.sub, hct: certificate.compact), key: hostKey)
    }

    /// Verifies a ticket offline at `now`.
    ///
    /// - Parameters:
    ///   - cmid: when given, the ticket must be for this machine id.
    ///   - fingerprint: when given, the ticket must be for this machine fingerprint (a copied state is refused).
    ///   - sku: when given, the ticket must be for this SKU.
    public static func verify(_ compact: String, roots: TrustedRoots, now: Date, cmid: String? = nil,
                              fingerprint: String? = nil, sku: String? = nil) throws(TokenError) -> VerifiedTicket {
        let parsed = try JWS.parse(compact, expecting: .ticket)
        guard let hct = parsed.header.hct else { throw TokenError(.missingCertificate, "the ticket carries no host certificate") }
        let certificate = try HostCertificate.verify(hct, roots: roots, now: now)
        guard parsed.header.kid == certificate.claims.sub else { throw TokenError(.issuerMismatch, "the ticket's kid is not the certificate's host") }
        try parsed.verify(with: certificate.hostKey)
        let claims = try parsed.decodePayload(TicketClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "ticket version \(claims.ver)") }
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
