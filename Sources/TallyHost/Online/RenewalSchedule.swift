import Crypto
import Foundation
import TallyCore

/// When a serving host renews its certificate: once fewer than `marginDays` days are left, plus a jitter of up to
/// 12 hours derived from the host id (hosts activated on one day do not all ask the vendor at one moment, and a
/// host asks at the same point after every restart); after a failure, as ``RetryBackoff`` says.
///
/// A plain value of the certificate's end, the host id and the time, so the rules are tested without a vendor or
/// a timer; ``CertificateRenewalService`` keeps one and acts on it.
public struct RenewalSchedule: Sendable, Equatable {
    public static let defaultMarginDays = 30
    /// `renewal-margin-days`: below the 180-day ticket lifetime, so a renewed certificate is never due at once.
    public static let marginRange = 1...150
    public static let maximumJitter: TimeInterval = 12 * 3600
    /// A certificate still due right after it was renewed (the vendor issued a short one) is renewed daily at most.
    public static let minimumInterval: TimeInterval = 24 * 3600

    public var marginDays: Int
    /// Seconds after the margin is crossed at which this host asks, `0..<maximumJitter`.
    public let jitter: TimeInterval
    public private(set) var backoff = RetryBackoff()
    /// After a failure: when to try again, for the certificate that ends at `retryFor` (a certificate installed
    /// since, by hand or SIGHUP, is scheduled afresh).
    public private(set) var retryAt: Date?
    public private(set) var retryFor: Date?

    public init(marginDays: Int = RenewalSchedule.defaultMarginDays, hostID: String) {
        self.marginDays = marginDays
        jitter = Self.jitter(hostID: hostID)
    }

    /// `0..<maximumJitter` seconds from the SHA-256 of the host id: spread over a fleet, the same for one host.
    public static func jitter(hostID: String) -> TimeInterval {
        let digest = Array(SHA256.hash(data: Data(hostID.utf8)))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return TimeInterval(value % UInt64(maximumJitter))
    }

    /// When a certificate ending at `expires` is due: `marginDays` before its end, plus the jitter.
    public func due(expires: Date) -> Date {
        expires.addingTimeInterval(-Double(marginDays) * 86_400 + jitter)
    }

    /// The next attempt for the certificate ending at `expires`: the retry after a failure, else when it is due.
    public func nextAttempt(expires: Date) -> Date {
        if let retryAt, retryFor == expires { return retryAt }
        return due(expires: expires)
    }

    /// A renewal at `now` gave a certificate ending at `expires`.
    public mutating func renewed(expires: Date, now: Date) {
        backoff.succeeded()
        if due(expires: expires) > now {
            retryAt = nil
            retryFor = nil
        } else {
            retryAt = now.addingTimeInterval(Self.minimumInterval)
            retryFor = expires
        }
    }

    /// A renewal of the certificate ending at `expires` failed at `now` with `code`; returns the next attempt.
    @discardableResult
    public mutating func failed(_ code: ResultCode?, expires: Date, now: Date) -> Date {
        let next = now.addingTimeInterval(backoff.failed(code))
        retryAt = next
        retryFor = expires
        return next
    }
}
