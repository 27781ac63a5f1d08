import Foundation

/// The policy's answer to one request.
public struct ActivationDecision: Sendable, Equatable {
    public var code: ResultCode
    /// The class of the SKU, when known.
    public var productClass: String?
    /// The class's count including this machine when it was counted; else the count as it stands.
    public var currentCount: Int
    public var requiredCount: Int
    /// Whether this request is a sighting that counts (and must be stored).
    public var counted: Bool

    public var grantsTicket: Bool { code == .success }
}

/// The decision table of docs/ARCHITECTURE.md ("Counting and deciding"), as a pure function of the host's certificate, the class counts, the request
/// and the time. The host takes decisions one at a time, so two requests at 24 never both see 24.
public struct ActivationPolicy: Sendable {
    public var clockSkewTolerance: TimeInterval

    public init(clockSkewTolerance: TimeInterval = Intervals.clockSkewTolerance) {
        self.clockSkewTolerance = clockSkewTolerance
    }

    /// Decides one request and, when it counts, records the machine in `counts`.
    ///
    /// - Parameter certificate: the host's certificate claims when the host holds a certificate valid at `now`,
    ///   else `nil`.
    public func decide(_ request: PolicyRequest, certificate: HostCertificateClaims?, counts: inout ClassCounts, now: Date) -> ActivationDecision {
        guard let certificate, now < certificate.exp.date else {
            return ActivationDecision(code: .hostNotActivated, productClass: nil, currentCount: 0, requiredCount: 0, counted: false)
        }
        guard let productClass = certificate.productClass(of: request.sku) else {
            return ActivationDecision(code: .skuNotCovered, productClass: nil, currentCount: 0, requiredCount: 0, counted: false)
        }
        let required = certificate.thr[productClass] ?? Int.max
        guard abs(request.clientTime.timeIntervalSince(now)) <= clockSkewTolerance else {
            return ActivationDecision(code: .clockSkew, productClass: productClass,
                                      currentCount: counts.count(class: productClass, at: now), requiredCount: required, counted: false)
        }
        counts.record(request.cmid, class: productClass, at: now)
        // The count includes the machine asking now, even when its kept sighting lies after `now`.
        let current = counts.count(including: request.cmid, class: productClass, at: now)
        return ActivationDecision(code: current >= required ? .success : .countTooLow, productClass: productClass,
                                  currentCount: current, requiredCount: required, counted: true)
    }

    /// The expiry of a ticket granted at `now`: 180 days, never past the certificate.
    public static func ticketExpiry(now: Date, certificate: HostCertificateClaims) -> Date {
        min(now.addingTimeInterval(Intervals.activationValidity), certificate.exp.date)
    }
}
