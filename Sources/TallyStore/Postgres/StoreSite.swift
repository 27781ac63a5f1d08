import Foundation
import TallyCore

/// What hosts sharing a store must have in common: one licence, known by the certificate's host-key hash (`hkh`)
/// and its thresholds. The first host writes it into the store; a host with another is refused (0xC0A70011), so
/// the counts of two licences never mix.
public struct StoreSite: Sendable, Equatable {
    public var hostKeyHash: String
    /// `class=threshold` pairs, sorted, comma-separated.
    public var thresholds: String

    public init(hostKeyHash: String, thresholds: [String: Int]) {
        self.hostKeyHash = hostKeyHash
        self.thresholds = thresholds.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    public init(hostKeyHash: String, thresholdsText: String) {
        self.hostKeyHash = hostKeyHash
        thresholds = thresholdsText
    }

    public init(certificate: HostCertificateClaims) {
        self.init(hostKeyHash: certificate.hkh, thresholds: certificate.thr)
    }

    /// Why `other` may not share a store of this site (`nil` when it may).
    public func refusal(of other: StoreSite) -> String? {
        if other.hostKeyHash != hostKeyHash {
            return "the store belongs to hosts of host key hash \(hostKeyHash), this host's certificate names \(other.hostKeyHash)"
        }
        if other.thresholds != thresholds {
            return "the store's thresholds are \(thresholds), this host's certificate says \(other.thresholds)"
        }
        return nil
    }
}
