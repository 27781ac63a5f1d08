import Foundation
import TallyCore

/// One request that reached the host, decoded and validated but not decided: what the store needs to decide
/// it and to write its 12290 event.
public struct ActivationInput: Sendable, Equatable {
    /// What the policy decides on: CMID, SKU, fingerprint, the client's clock.
    public var request: PolicyRequest
    /// The machine's name, for the administrator (never trusted).
    public var machine: String
    /// The licence state the client reported.
    public var licenseStatus: String
    public var minutesToExpiry: Int32?
    public var vm: Bool?
    /// The peer address the request came from.
    public var address: String

    public init(request: PolicyRequest, machine: String, licenseStatus: String, minutesToExpiry: Int32? = nil, vm: Bool? = nil,
                address: String) {
        self.request = request
        self.machine = machine
        self.licenseStatus = licenseStatus
        self.minutesToExpiry = minutesToExpiry
        self.vm = vm
        self.address = address
    }
}

/// What a decision is taken against: the host's certificate (when valid), its intervals and the policy.
public struct DecisionContext: Sendable {
    /// The host certificate's claims; `nil` when the host holds no valid certificate (every request is then
    /// C004F041 and stored, not counted).
    public var certificate: HostCertificateClaims?
    public var intervals: ClientIntervals
    public var policy: ActivationPolicy

    public init(certificate: HostCertificateClaims?, intervals: ClientIntervals, policy: ActivationPolicy = ActivationPolicy()) {
        self.certificate = certificate
        self.intervals = intervals
        self.policy = policy
    }
}

/// A decision the store took and made durable, with its time and its 12290 event's sequence number.
public struct StoredDecision: Sendable, Equatable {
    public var decision: ActivationDecision
    /// The time the decision was taken at (the store's clock: the host's for SQLite).
    public var time: Date
    /// The sequence number of its 12290 event.
    public var seq: Int64

    public init(decision: ActivationDecision, time: Date, seq: Int64) {
        self.decision = decision
        self.time = time
        self.seq = seq
    }
}
