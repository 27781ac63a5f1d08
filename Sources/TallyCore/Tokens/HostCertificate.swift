import Crypto
import Foundation

/// A SKU the host may activate, with its product class.
public struct CertifiedSKU: Codable, Sendable, Hashable {
    public var sku: String
    public var `class`: String

    public init(sku: String, class productClass: String) {
        self.sku = sku
        self.class = productClass
    }
}

/// The claims of a host certificate: the vendor root vouches for a host's key and the SKUs it may activate.
public struct HostCertificateClaims: Codable, Sendable, Equatable {
    public struct Confirmation: Codable, Sendable, Equatable {
        public var jwk: JWK
    }

    public var ver: Int
    /// Vendor id.
    public var iss: String
    /// Host id.
    public var sub: String
    /// The host's public key (RFC 7800 proof-of-possession key).
    public var cnf: Confirmation
    /// SHA-256 (hex) of the host key that unlocked this host.
    public var hkh: String
    /// Product group of the host key.
    public var grp: String
    /// Every SKU the host may activate, the group graph expanded.
    public var skus: [CertifiedSKU]
    /// Threshold per class.
    public var thr: [String: Int]
    public var serial: Int
    public var iat: NumericDate
    public var nbf: NumericDate
    public var exp: NumericDate
    /// The vendor's online service, from the catalog: where the host renews and reports.
    public var vurl: String?

    public init(iss: String, sub: String, hostKey: JWK, hkh: String, grp: String, skus: [CertifiedSKU],
                thr: [String: Int], serial: Int, issuedAt: Date, validity: TimeInterval, vendorURL: String? = nil) {
        ver = 1
        self.iss = iss
        self.sub = sub
        cnf = Confirmation(jwk: hostKey)
        self.hkh = hkh
        self.grp = grp
        self.skus = skus
        self.thr = thr
        self.serial = serial
        iat = NumericDate(issuedAt)
        nbf = NumericDate(issuedAt)
        exp = NumericDate(issuedAt.addingTimeInterval(validity))
        vurl = vendorURL
    }

    public func productClass(of sku: String) -> String? {
        skus.first { $0.sku == sku }?.class
    }
}

/// A host certificate whose signature, type, signer and validity were checked.
public struct HostCertificate: Sendable {
    public let compact: String
    public let claims: HostCertificateClaims
    public let hostKey: Curve25519.Signing.PublicKey
    /// The vendor root key id that signed it.
    public let signer: String

    /// Issues a certificate signed by the vendor root.
    public static func issue(_ claims: HostCertificateClaims, root: SigningKey) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .hostCertificate, kid: root.kid), key: root.privateKey)
    }

    /// Verifies a certificate against the trusted roots at `now`.
    ///
    /// The vendor root signs the certificate directly: a certificate that itself carries an `hct` header would
    /// make a chain of three links, and is refused.
    public static func verify(_ compact: String, roots: TrustedRoots, now: Date, skew: TimeInterval = 0) throws(TokenError) -> HostCertificate {
        let parsed = try JWS.parse(compact, expecting: .hostCertificate)
        guard parsed.header.hct == nil else { throw TokenError(.chainTooLong, "a host certificate must be signed by a vendor root directly") }
        try parsed.verify(with: roots.key(for: parsed.header.kid))
        let claims = try parsed.decodePayload(HostCertificateClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "host certificate version \(claims.ver)") }
        let at = NumericDate(now)
        guard at + NumericDate(skew) >= claims.nbf else { throw TokenError(.notYetValid, "the host certificate is valid from \(claims.nbf.date)") }
        guard at < claims.exp else { throw TokenError(.expired, "the host certificate expired at \(claims.exp.date)") }
        return HostCertificate(compact: compact, claims: claims, hostKey: try claims.cnf.jwk.publicKey(), signer: parsed.header.kid)
    }

    /// Checks only that a vendor root signed the certificate (no validity period): for reading a token's
    /// signer before its own claims say which time to judge the certificate at.
    public static func verifySignature(_ compact: String, roots: TrustedRoots) throws(TokenError) -> (claims: HostCertificateClaims, signer: String) {
        let parsed = try JWS.parse(compact, expecting: .hostCertificate)
        guard parsed.header.hct == nil else { throw TokenError(.chainTooLong, "a host certificate must be signed by a vendor root directly") }
        try parsed.verify(with: roots.key(for: parsed.header.kid))
        return (try parsed.decodePayload(HostCertificateClaims.self), parsed.header.kid)
    }

    /// The certificate's expiry.
    public var expires: Date { claims.exp.date }
}
