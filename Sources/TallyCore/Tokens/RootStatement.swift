import Foundation

/// A vendor root vouching for another root of the same vendor: the only way a host learns a new root.
///
/// The vendor makes one when it creates a root (the online root at `vendor init`, each root of
/// `vendor rotate-root`), signed by its offline root, and sends them all with every online answer. A host adopts a
/// root only through a chain of statements starting at a root it already trusts.
public struct RootStatementClaims: Codable, Sendable, Equatable {
    public var ver: Int
    /// Vendor id.
    public var iss: String
    /// The root vouched for, with its `kid`.
    public var jwk: JWK
    public var iat: NumericDate

    public init(vendor: String, root: JWK, issuedAt: Date) {
        ver = 1
        iss = vendor
        jwk = root
        iat = NumericDate(issuedAt)
    }
}

public enum RootStatement {
    /// Signs a statement for `root` with `signer`.
    public static func issue(_ claims: RootStatementClaims, signer: SigningKey) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .rootStatement, kid: signer.kid), key: signer.privateKey)
    }

    /// Verifies a statement against `roots` and returns the root it vouches for.
    public static func verify(_ compact: String, roots: TrustedRoots) throws(TokenError) -> RootStatementClaims {
        let parsed = try JWS.parse(compact, expecting: .rootStatement)
        guard parsed.header.hct == nil else { throw TokenError(.chainTooLong, "a root statement is signed by a root directly") }
        try parsed.verify(with: roots.key(for: parsed.header.kid))
        let claims = try parsed.decodePayload(RootStatementClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "root statement version \(claims.ver)") }
        guard let kid = claims.jwk.kid, !kid.isEmpty else { throw TokenError(.unsupportedKey, "the root vouched for has no kid") }
        _ = try claims.jwk.publicKey()
        return claims
    }

    /// What adopting statements gave: the roots now trusted (old ones first), those newly adopted, and the
    /// statements that chain to no trusted root.
    public struct Adoption: Sendable, Equatable {
        public var roots: [JWK]
        public var adopted: [JWK]
        public var rejected: [String]
    }

    /// Adopts every root that `statements` vouch for, directly or through one another, starting from `trusted`.
    /// A statement naming a kid already trusted with another key is rejected: a kid never changes its key.
    public static func adopt(_ statements: [String], into trusted: [JWK]) -> Adoption {
        var roots = trusted
        var adopted: [JWK] = []
        var pending = statements
        var progress = true
        while progress, !pending.isEmpty {
            progress = false
            guard let current = try? TrustedRoots(roots) else { break }
            var left: [String] = []
            for statement in pending {
                guard let claims = try? verify(statement, roots: current) else {
                    left.append(statement)
                    continue
                }
                if let known = roots.first(where: { $0.kid == claims.jwk.kid }) {
                    if known.x != claims.jwk.x { left.append(statement) }
                    continue
                }
                roots.append(claims.jwk)
                adopted.append(claims.jwk)
                progress = true
            }
            pending = left
        }
        // A statement whose root is already trusted (with the same key) is not a rejection.
        let rejected = pending.filter { statement in
            guard let parsed = try? JWS.parse(statement, expecting: .rootStatement),
                  let claims = try? parsed.decodePayload(RootStatementClaims.self) else { return true }
            return !roots.contains { $0.kid == claims.jwk.kid && $0.x == claims.jwk.x }
        }
        return Adoption(roots: roots, adopted: adopted, rejected: rejected)
    }
}
