import Crypto
import Foundation
import TallyCore

/// When a serving host sends its usage report: once a day, at a time of day derived from the host id between
/// 01:00 and 07:00 UTC (after the day it reports has ended; a fleet spread over six hours); after a failure, as
/// ``RetryBackoff`` says, but never later than the next day's time.
public struct ReportSchedule: Sendable, Equatable {
    public static let earliest: TimeInterval = 3600
    public static let spread: TimeInterval = 6 * 3600

    /// Seconds after midnight UTC at which this host sends.
    public let timeOfDay: TimeInterval
    public private(set) var backoff = RetryBackoff()

    public init(hostID: String) {
        let digest = Array(SHA256.hash(data: Data(("report:" + hostID).utf8)))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        timeOfDay = Self.earliest + TimeInterval(value % UInt64(Self.spread))
    }

    /// The first sending time after `now`.
    public func next(after now: Date) -> Date {
        let midnight = Double(CountWindow.day(of: now)) * 86_400
        let today = Date(timeIntervalSince1970: midnight + timeOfDay)
        return today > now ? today : today.addingTimeInterval(86_400)
    }

    /// Sending at `now` worked (or there was nothing to send): the next day's time.
    public mutating func sent(now: Date) -> Date {
        backoff.succeeded()
        return next(after: now)
    }

    /// Sending at `now` failed with `code`: the retry, or the next day's time if that comes first.
    public mutating func failed(_ code: ResultCode?, now: Date) -> Date {
        min(now.addingTimeInterval(backoff.failed(code)), next(after: now))
    }
}
