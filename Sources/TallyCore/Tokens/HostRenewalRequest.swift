import Crypto
import Foundation

/// A host's request to renew its certificate online: signed by the host's key pair, carrying the certificate to
/// renew in `hct`. It holds no host key: renewing the same key pair needs only proof that the host holds it.
public struct HostRenewalRequestClaims: Codable, Sendable, Equatable {
    public var ver: Int
    public var hid: String
    public var nce: String
    public var iat: NumericDate

    public init(hostId: String, nonce: String, issuedAt: Date) {
        ver = 1
        hid = hostId
        nce = nonce
        iat = NumericDate(issuedAt)
    }
}

/// A renewal request whose signature was checked against the key its certificate certifies.
public struct VerifiedHostRenewalRequest: Sendable {
    public let claims: HostRenewalRequestClaims
    /// The certificate being renewed: signed by one of the vendor's roots; its validity period is not judged,
    /// so an expired certificate can be renewed (the ledger decides whether the key pair may be).
    public let certificate: HostCertificateClaims

    public static func issue(_ claims: HostRenewalRequestClaims, hostKey: Curve25519.Signing.PrivateKey, certificate: String) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .hostRenewal, kid: claims.hid, hct: certificate), key: hostKey)
    }

    public static func verify(_ compact: String, roots: TrustedRoots) throws(TokenError) -> VerifiedHostRenewalRequest {
        let parsed = try JWS.parse(compact, expecting: .hostRenewal)
        guard let hct = parsed.header.hct else { throw TokenError(.missingCertificate, "the renewal request carries no certificate") }
        let certificate = try HostCertificate.verifySignature(hct, roots: roots).claims
        try parsed.verify(with: certificate.cnf.jwk.publicKey())
        let claims = try parsed.decodePayload(HostRenewalRequestClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "renewal request version \(claims.ver)") }
        guard parsed.header.kid == claims.hid, claims.hid == certificate.sub else {
            throw TokenError(.issuerMismatch, "the renewal request's host id is not its certificate's host")
        }
        return VerifiedHostRenewalRequest(claims: claims, certificate: certificate)
    }
}
