import Foundation

/// What a client asked, as the policy needs it (already decoded and validated).
public struct PolicyRequest: Sendable, Equatable {
    public var cmid: String
    public var sku: String
    public var fingerprint: String
    public var clientTime: Date

    public init(cmid: String, sku: String, fingerprint: String, clientTime: Date) {
        self.cmid = cmid
        self.sku = sku
        self.fingerprint = fingerprint
        self.clientTime = clientTime
    }
}
