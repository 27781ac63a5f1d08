import Foundation
import Crypto

/// The vendor root keys a verifier trusts, by `kid`. Several may be trusted at once so the vendor can rotate.
public struct TrustedRoots: Sendable {
    public private(set) var keys: [String: Curve25519.Signing.PublicKey]

    public init(_ jwks: [JWK]) throws(TokenError) {
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for jwk in jwks {
            guard let kid = jwk.kid, !kid.isEmpty else { throw TokenError(.unsupportedKey, "a trusted root JWK has no kid") }
            keys[kid] = try jwk.publicKey()
        }
        self.keys = keys
    }

    public func key(for kid: String) throws(TokenError) -> Curve25519.Signing.PublicKey {
        guard let key = keys[kid] else { throw TokenError(.unknownSigner, "kid \(kid) is not a trusted vendor root") }
        return key
    }
}
