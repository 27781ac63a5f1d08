import Crypto
import Foundation

/// The protected header of every Tally token.
///
/// Only these members are read. Any `jwk`, `jku`, `x5u` or `x5c` member is ignored: a verifier finds keys only
/// among its trusted roots (by `kid`) or in a certificate it verified itself.
public struct JWSHeader: Codable, Sendable, Equatable {
    public var alg: String
    public var typ: String
    public var kid: String
    /// The host certificate, on tokens a host signs.
    public var hct: String?
    /// Present only to be refused: Tally understands no critical extension.
    public var crit: [String]?

    public init(typ: TokenType, kid: String, hct: String? = nil) {
        alg = "EdDSA"
        self.typ = typ.rawValue
        self.kid = kid
        self.hct = hct
    }
}

/// The token types, as the `typ` header names them.
public enum TokenType: String, Sendable, CaseIterable {
    case hostCertificate = "tally-host+jwt"
    case ticket = "tally-ticket+jwt"
    case response = "tally-response+jwt"
    case report = "tally-report+jwt"
    case hostRequest = "tally-host-request+jwt"
    case hostRenewal = "tally-host-renewal+jwt"
    case rootStatement = "tally-root+jwt"
    case receipt = "tally-receipt+jwt"
}

/// JWS compact serialisation (RFC 7515) with EdDSA over Ed25519 (RFC 8037). Signing and verifying use
/// swift-crypto; this type only frames bytes.
public enum JWS {
    /// Signs `payload` as JSON under `header`.
    public static func sign<Payload: Encodable>(_ payload: Payload, header: JWSHeader, key: Curve25519.Signing.PrivateKey) throws -> String {
        let encoder = TallyJSON.encoder()
        let headerPart = Base64URL.encode(try encoder.encode(header))
        let payloadPart = Base64URL.encode(try encoder.encode(payload))
        let signingInput = headerPart + "." + payloadPart
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The encoded protected header, for signers that sign many tokens under one header (a host's answers all
    /// carry the same certificate, so its header is encoded once, not per answer).
    public static func encodeHeader(_ header: JWSHeader) throws -> String {
        Base64URL.encode(try TallyJSON.encoder().encode(header))
    }

    /// Signs `payload` under a header encoded by ``encodeHeader(_:)``.
    public static func sign<Payload: Encodable>(_ payload: Payload, encodedHeader: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        let signingInput = encodedHeader + "." + Base64URL.encode(try TallyJSON.encoder().encode(payload))
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Signs a payload that is already JSON bytes under an encoded header.
    public static func sign(payloadJSON: [UInt8], encodedHeader: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        let signingInput = encodedHeader + "." + Base64URL.encode(payloadJSON)
        let signature = try key.signature(for: Data(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// A token split and decoded, its signature not yet checked.
    public struct Parsed: Sendable {
        public let header: JWSHeader
        public let payload: Data
        let signingInput: Data
        let signature: Data

        /// Checks the signature with `key`.
        public func verify(with key: Curve25519.Signing.PublicKey) throws(TokenError) {
            guard key.isValidSignature(signature, for: signingInput) else {
                throw TokenError(.badSignature, "the signature does not verify")
            }
        }

        public func decodePayload<T: Decodable>(_ type: T.Type) throws(TokenError) -> T {
            do {
                return try TallyJSON.decode(type, from: payload)
            } catch {
                throw TokenError(.malformed, "the payload is not a valid \(T.self): \(error)")
            }
        }
    }

    /// Largest token accepted, so a hostile input cannot make a verifier allocate without bound.
    public static let maximumLength = 64 * 1024

    /// Splits a compact token and checks its header: `alg` must be EdDSA and `typ` the expected one.
    public static func parse(_ token: String, expecting type: TokenType) throws(TokenError) -> Parsed {
        try parse(token, expectingOneOf: [type])
    }

    /// Splits a compact token whose `typ` may be any of `types` (an activation answer is a ticket or a response).
    public static func parse(_ token: String, expectingOneOf types: [TokenType]) throws(TokenError) -> Parsed {
        guard token.utf8.count <= maximumLength else { throw TokenError(.malformed, "the token is longer than \(maximumLength) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw TokenError(.malformed, "a compact JWS has three parts, this has \(parts.count)") }
        guard let headerData = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw TokenError(.malformed, "a part is not base64url") }
        let header: JWSHeader
        do {
            header = try TallyJSON.decode(JWSHeader.self, from: headerData)
        } catch {
            throw TokenError(.malformed, "the header is not a Tally JWS header")
        }
        guard header.alg == "EdDSA" else { throw TokenError(.unsupportedAlgorithm, "alg \(header.alg) is not accepted; only EdDSA is") }
        guard header.crit == nil else { throw TokenError(.criticalHeader, "critical header extensions are not supported") }
        guard types.contains(where: { $0.rawValue == header.typ }) else {
            throw TokenError(.wrongType, "typ is \(header.typ), expected \(types.map(\.rawValue).joined(separator: " or "))")
        }
        guard signature.count == 64 else { throw TokenError(.badSignature, "an Ed25519 signature is 64 bytes, this is \(signature.count)") }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        return Parsed(header: header, payload: payload, signingInput: signingInput, signature: signature)
    }
}
