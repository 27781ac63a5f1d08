import Foundation

/// The vendor's receipt for a usage report: proof that the vendor holds exactly this report as number `seq` of
/// this host's chain, from time `iat` on.
public struct ReportReceiptClaims: Codable, Sendable, Equatable {
    public var ver: Int
    /// Vendor id.
    public var iss: String
    /// Host id.
    public var sub: String
    public var seq: Int
    /// SHA-256 (hex) of the report's compact form, as ``VerifiedUsageReport/hash(_:)`` computes it.
    public var rh: String
    /// When the vendor acknowledged it.
    public var iat: NumericDate

    public init(vendor: String, hostID: String, seq: Int, reportHash: String, acknowledgedAt: Date) {
        ver = 1
        iss = vendor
        sub = hostID
        self.seq = seq
        rh = reportHash
        iat = NumericDate(acknowledgedAt)
    }
}

public enum ReportReceipt {
    public static func issue(_ claims: ReportReceiptClaims, signer: SigningKey) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .receipt, kid: signer.kid), key: signer.privateKey)
    }

    /// Verifies a receipt against `roots` and checks that it acknowledges `report` (its hash, host and `seq`).
    public static func verify(_ compact: String, roots: TrustedRoots, for report: UsageReportClaims, reportHash: String) throws(TokenError) -> ReportReceiptClaims {
        let parsed = try JWS.parse(compact, expecting: .receipt)
        guard parsed.header.hct == nil else { throw TokenError(.chainTooLong, "a receipt is signed by a vendor root directly") }
        try parsed.verify(with: roots.key(for: parsed.header.kid))
        let claims = try parsed.decodePayload(ReportReceiptClaims.self)
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "receipt version \(claims.ver)") }
        guard claims.sub == report.iss, claims.seq == report.seq, claims.rh == reportHash else {
            throw TokenError(.wrongSubject, "the receipt acknowledges report \(claims.seq) of host \(claims.sub) with hash \(claims.rh.prefix(12))…, not this report")
        }
        return claims
    }
}
