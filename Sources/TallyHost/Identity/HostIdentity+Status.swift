import Foundation
import TallyCore

/// The identity half of `tally host status`.
public struct HostIdentityStatus: Codable, Sendable, Equatable {
    public var hostId: String
    public var keyId: String
    public var activated: Bool
    public var certificateExpires: Date?
    public var certificateSerial: Int?
    public var group: String?
    public var vendor: String?
    public var skus: [CertifiedSKU]
    public var thresholds: [String: Int]
    /// Why the host is not activated, when it is not.
    public var problem: String?
}

extension HostIdentity {
    public func status(now: Date = Date()) throws -> HostIdentityStatus {
        let info = try info()
        var status = HostIdentityStatus(hostId: info.hostID, keyId: info.keyID, activated: false, skus: [], thresholds: [:])
        do {
            if let certificate = try certificate(now: now) {
                status.activated = true
                status.certificateExpires = certificate.expires
                status.certificateSerial = certificate.claims.serial
                status.group = certificate.claims.grp
                status.vendor = certificate.claims.iss
                status.skus = certificate.claims.skus
                status.thresholds = certificate.claims.thr
            } else {
                status.problem = "no certificate installed: run `tally host activate`"
            }
        } catch let error as TallyError {
            status.problem = error.message
        }
        return status
    }
}
