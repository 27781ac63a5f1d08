import Crypto
import Foundation

/// The claims of a host-signed usage report: distinct machines per SKU and class per day, chained by `seq`
/// and the previous report's hash so the vendor sees a gap or an edit.
public struct UsageReportClaims: Codable, Sendable, Equatable {
    public struct DayUsage: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD`, UTC.
        public var day: String
        public var sku: String
        public var `class`: String
        /// Distinct machines that asked for this SKU on this day.
        public var machines: Int

        public init(day: String, sku: String, class productClass: String, machines: Int) {
            self.day = day
            self.sku = sku
            self.class = productClass
            self.machines = machines
        }
    }

    public var ver: Int
    /// Host id.
    public var iss: String
    /// Period start and end (inclusive days).
    public var from: String
    public var to: String
    public var usage: [DayUsage]
    public var seq: Int
    /// SHA-256 (hex) of the previous report's compact form; empty for the first.
    public var prv: String
    public var iat: NumericDate
    /// Machines new to the host per day and how many came from its busiest addresses, so an inflated count
    /// shows (absent in reports of hosts before this field; days without new machines are left out).
    public var new: [NewMachinesDay]?
    /// The site's id when several hosts share one store: the report covers the site (each machine once, whichever
    /// host counted it), `seq` and `prv` are the site's chain, and `iss` is the host that made it. Absent for a
    /// host alone, whose chain is its own.
    public var site: String?
    /// The hosts of the site (host ids), with `site`.
    public var hosts: [String]?

    /// The chain the report belongs to: `site:ID` for a site's report, else the host id.
    public var chain: String { site.map { "site:" + $0 } ?? iss }

    public init(iss: String, from: String, to: String, usage: [DayUsage], seq: Int, prv: String, iat: Date, new: [NewMachinesDay]? = nil,
                site: String? = nil, hosts: [String]? = nil) {
        ver = 1
        self.site = site
        self.hosts = hosts
        self.iss = iss
        self.from = from
        self.to = to
        self.usage = usage
        self.seq = seq
        self.prv = prv
        self.iat = NumericDate(iat)
        self.new = new
    }
}

/// One day of a usage report's new machines.
public struct NewMachinesDay: Codable, Sendable, Equatable {
    /// How many of the busiest address blocks (IPv6 by /64) `busiest` counts.
    public static let busiestBlocks = 10

    /// `YYYY-MM-DD`, UTC.
    public var day: String
    /// Machines counted for the first time in a class that day.
    public var machines: Int
    /// Address blocks they came from.
    public var addresses: Int
    /// How many came from the ``busiestBlocks`` busiest blocks.
    public var busiest: Int

    public init(day: String, machines: Int, addresses: Int, busiest: Int) {
        self.day = day
        self.machines = machines
        self.addresses = addresses
        self.busiest = busiest
    }

    /// The share from the busiest blocks, 0…1.
    public var busiestShare: Double { machines == 0 ? 0 : Double(busiest) / Double(machines) }
}

/// A verified usage report.
public struct VerifiedUsageReport: Sendable {
    public let compact: String
    public let claims: UsageReportClaims
    public let certificate: HostCertificate

    public static func issue(_ claims: UsageReportClaims, hostKey: Curve25519.Signing.PrivateKey, certificate: HostCertificate) throws -> String {
        try JWS.sign(claims, header: JWSHeader(typ: .report, kid: certificate.claims.sub, hct: certificate.compact), key: hostKey)
    }

    /// SHA-256 (hex) of a report's compact form, as the next report's `prv`.
    public static func hash(_ compact: String) -> String { Hex.encode(SHA256.hash(data: Data(compact.utf8))) }

    /// Verifies a report. The certificate is judged at the report's issue time: a report stays verifiable after
    /// the certificate that signed it expired.
    public static func verify(_ compact: String, roots: TrustedRoots) throws(TokenError) -> VerifiedUsageReport {
        let parsed = try JWS.parse(compact, expecting: .report)
        guard let hct = parsed.header.hct else { throw TokenError(.missingCertificate, "the report carries no host certificate") }
        // The certificate's own signature and the report's signature are checked before any report field is
        // used; only then is the certificate judged at the report's issue time.
        let signer = try HostCertificate.verifySignature(hct, roots: roots)
        try parsed.verify(with: signer.claims.cnf.jwk.publicKey())
        let claims = try parsed.decodePayload(UsageReportClaims.self)
        let certificate = try HostCertificate.verify(hct, roots: roots, now: claims.iat.date)
        guard parsed.header.kid == certificate.claims.sub, claims.iss == certificate.claims.sub else {
            throw TokenError(.issuerMismatch, "the report's signer is not the certificate's host")
        }
        guard claims.ver == 1 else { throw TokenError(.unsupportedVersion, "report version \(claims.ver)") }
        return VerifiedUsageReport(compact: compact, claims: claims, certificate: certificate)
    }
}
