import Crypto
import Foundation

/// A host's request to be activated by the vendor (an offline file or an online body).
///
/// It carries the host id, the host's public key, the host key and a nonce, signed by the host's private key:
/// proof that the requester holds the key it asks the vendor to certify.
public struct HostActivationRequestClaims: Codable, Sendable, Equatable {
    public var ver: Int
    public var hid: String
    public var cnf: HostCertificateClaims.Confirmation
    /// The secret host key, as typed.
    public var key: String
    public var nce: String
    public var iat: NumericDate

    public init(hostId: String, hostKey: JWK, productKey: String, nonce: String, issuedAt: Date) {
        ver = 1
        hid = hostId
        cnf = .init(jwk: hostKey)
        key = productKey
        nce = nonce
        iat = NumericDate(issuedAt)
    }
}

public struct VerifiedHostActivationRequest: Sendable {
    public let claims: HostActivationRequestClaims
    public let publicKey: Curve25519.Signing.PublicKey

    public static func issue(_ claims: HostActivationRequestClaims, hostKey: Curve25519.Signing.PrivateKey) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .hostRequest, kid: claims.hid), key: hostKey)
    }

    /// Checks the proof of possession: the request is signed by the key it carries in `cnf`.
    public static func verify(_ compact: String) throws(TokenError) -> VerifiedHostActivationRequest {
        let parsed = try JWS.parse(compact, expecting: .hostRequest)
        let claims = try parsed.decodePayload(HostActivationRequestClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "request version \(claims.ver)") }
        guard parsed.header.kid == claims.hid else { throw TokenError(.issuerMismatch, "the request's kid is not its host id") }
        let key = try claims.cnf.jwk.publicKey()
        try parsed.verify(with: key)
        return VerifiedHostActivationRequest(claims: claims, publicKey: key)
    }
}
