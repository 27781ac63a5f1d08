import Foundation
import TallyCore

/// How a serving host waits after a failed exchange with the vendor: a vendor it could not reach (no connection,
/// no answer in time, the proxy, TLS, a vendor over its limits) is tried again after 5, 10, 20 minutes… doubling up
/// to 6 hours; a refusal (a blocked key, a key pair the vendor does not know, a bad request) or a problem of this
/// host's own (no certificate, an unreadable CA file) is tried again a day later: asking sooner changes nothing.
public struct RetryBackoff: Sendable, Equatable {
    public static let first: TimeInterval = 5 * 60
    public static let maximum: TimeInterval = 6 * 3600
    public static let afterRefusal: TimeInterval = 24 * 3600

    /// Failures in a row that could not reach the vendor.
    public private(set) var unreachable = 0

    public init() {}

    /// Whether `code` means the vendor was not reached or did not answer, so asking again soon may work.
    public static func isUnreachable(_ code: ResultCode?) -> Bool {
        guard let code else { return true }
        return [.vendorUnreachable, .vendorTimeout, .vendorTLSRejected, .proxyFailed, .vendorAnswerInvalid, .vendorRateLimited,
                .vendorLimitReached].contains(code)
    }

    /// Records a failure with `code` and returns how long to wait before the next attempt.
    public mutating func failed(_ code: ResultCode?) -> TimeInterval {
        guard Self.isUnreachable(code) else {
            unreachable = 0
            return Self.afterRefusal
        }
        unreachable += 1
        let doublings = Double(min(unreachable - 1, 16))
        return min(Self.first * pow(2, doublings), Self.maximum)
    }

    /// A success: the next failure waits the first interval again.
    public mutating func succeeded() { unreachable = 0 }
}
