import Crypto
import Foundation

/// An Ed25519 public key as a JSON Web Key (RFC 8037): `kty: OKP`, `crv: Ed25519`, `x`, and a `kid`.
public struct JWK: Codable, Sendable, Hashable {
    public var kty: String
    public var crv: String
    public var x: String
    public var kid: String?

    public init(publicKey: Curve25519.Signing.PublicKey, kid: String? = nil) {
        kty = "OKP"
        crv = "Ed25519"
        x = Base64URL.encode(publicKey.rawRepresentation)
        self.kid = kid
    }

    /// The key, after checking that this is an Ed25519 OKP key of the right length.
    public func publicKey() throws(TokenError) -> Curve25519.Signing.PublicKey {
        guard kty == "OKP", crv == "Ed25519" else { throw TokenError(.unsupportedKey, "key type \(kty)/\(crv) is not OKP/Ed25519") }
        guard let raw = Base64URL.decode(x), raw.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { throw TokenError(.unsupportedKey, "the key's x is not a 32-byte Ed25519 public key") }
        return key
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
    public var thumbprint: String {
        let canonical = #"{"crv":"\#(crv)","kty":"\#(kty)","x":"\#(x)"}"#
        return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }
}

/// An Ed25519 private key with the key id it signs under.
public struct SigningKey: Sendable {
    public let kid: String
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(kid: String, privateKey: Curve25519.Signing.PrivateKey) {
        self.kid = kid
        self.privateKey = privateKey
    }

    /// A fresh key whose id is its public key's thumbprint (shortened).
    public static func generate(kidPrefix: String = "") -> SigningKey {
        let key = Curve25519.Signing.PrivateKey()
        let kid = kidPrefix + String(JWK(publicKey: key.publicKey).thumbprint.prefix(16))
        return SigningKey(kid: kid, privateKey: key)
    }

    public var publicJWK: JWK { JWK(publicKey: privateKey.publicKey, kid: kid) }

    /// The private key file's content: a JSON object with the JWK members plus `d` (RFC 8037).
    public func exportPrivate() throws -> Data {
        let file = PrivateJWK(kty: "OKP", crv: "Ed25519", x: publicJWK.x, d: Base64URL.encode(privateKey.rawRepresentation), kid: kid)
        return try TallyJSON.encode(file, pretty: true)
    }

    public static func importPrivate(_ data: Data) throws(TallyError) -> SigningKey {
        guard let file = try? TallyJSON.decode(PrivateJWK.self, from: data),
              file.kty == "OKP", file.crv == "Ed25519",
              let raw = Base64URL.decode(file.d), raw.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw),
              Base64URL.encode(key.publicKey.rawRepresentation) == file.x
        else { throw TallyError(.stateUnreadable, "the private key file is not an Ed25519 private JWK, or its d and x do not match") }
        return SigningKey(kid: file.kid, privateKey: key)
    }

    private struct PrivateJWK: Codable {
        var kty: String
        var crv: String
        var x: String
        var d: String
        var kid: String
    }
}
