import Foundation

/// The endpoints of the vendor's online service (`tally vendor serve`), below the vendor URL's path.
public enum VendorPaths {
    /// `POST`: a host activation request (the same token as the offline file) → a certificate.
    public static let activate = "/v1/host/activate"
    /// `POST`: a renewal request signed by the host's key pair, carrying its current certificate → a certificate.
    public static let renew = "/v1/host/renew"
    /// `POST`: a host-signed usage report → a vendor-signed receipt.
    public static let report = "/v1/host/report"
    /// `GET`: liveness, counts nothing.
    public static let health = "/health"
}

/// The body of an activation or renewal: one compact token.
public struct VendorRequestBody: Codable, Sendable, Equatable {
    /// A `tally-host-request+jwt` (activation) or `tally-host-renewal+jwt` (renewal).
    public var request: String

    public init(request: String) { self.request = request }
}

/// The vendor's answer to an activation or renewal.
public struct VendorCertificateAnswer: Codable, Sendable, Equatable {
    /// The host certificate, signed by the vendor's online root.
    public var certificate: String
    /// Root statements (`tally-root+jwt`): every root the vendor uses, each vouched for by an older one, so a host
    /// that trusts only the offline root learns the online root and any rotated one.
    public var roots: [String]
    /// What the unlock cost: `newHost`, `newKeyPair` or `renewal`.
    public var unlock: String

    public init(certificate: String, roots: [String], unlock: String) {
        self.certificate = certificate
        self.roots = roots
        self.unlock = unlock
    }
}

/// The body of a report submission.
public struct VendorReportBody: Codable, Sendable, Equatable {
    /// A `tally-report+jwt`, as `tally host report` wrote it.
    public var report: String

    public init(report: String) { self.report = report }
}

/// The vendor's answer to a report it accepted.
public struct VendorReceiptAnswer: Codable, Sendable, Equatable {
    /// A `tally-receipt+jwt` signed by the vendor's online root.
    public var receipt: String
    /// Root statements, as in ``VendorCertificateAnswer/roots``, so the receipt's signer can be learnt.
    public var roots: [String]

    public init(receipt: String, roots: [String]) {
        self.receipt = receipt
        self.roots = roots
    }
}
