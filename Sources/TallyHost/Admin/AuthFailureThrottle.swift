import Foundation
import NIOConcurrencyHelpers
import TallyCore

/// Throttles guessing at the admin token: an address block (IPv6 per /64) with 10 failed logins or bearer tokens
/// within a minute is answered 429 for the next 60 s, whatever it sends, so it learns nothing from a right guess
/// either. Time is an input.
public struct AuthFailureThrottle: Sendable, Equatable {
    public static let maxFailures = 10
    public static let window: TimeInterval = 60
    public static let lockout: TimeInterval = 60

    struct Record: Sendable, Equatable {
        /// Failure times within the window, oldest first.
        var failures: [Date] = []
        var lockedUntil: Date?
    }

    private(set) var records: [AddressBlock: Record] = [:]

    public init() {}

    /// Until when `block` is locked out at `now`, if it is.
    public func lockedUntil(_ block: AddressBlock, now: Date) -> Date? {
        guard let until = records[block]?.lockedUntil, now < until else { return nil }
        return until
    }

    /// Records a failed attempt from `block` at `now`; returns the end of the lockout it starts, if it starts one.
    @discardableResult
    public mutating func fail(_ block: AddressBlock, now: Date) -> Date? {
        var record = records[block] ?? Record()
        record.failures = record.failures.filter { now.timeIntervalSince($0) < AuthFailureThrottle.window } + [now]
        var started: Date?
        if record.failures.count >= AuthFailureThrottle.maxFailures {
            let until = now.addingTimeInterval(AuthFailureThrottle.lockout)
            record.lockedUntil = until
            record.failures = []
            started = until
        }
        records[block] = record
        if records.count > 10_000 { forget(now: now) }
        return started
    }

    /// Drops blocks with nothing in the window and no lockout: they hold no information.
    private mutating func forget(now: Date) {
        records = records.filter { _, record in
            (record.lockedUntil.map { now < $0 } ?? false) || record.failures.contains { now.timeIntervalSince($0) < AuthFailureThrottle.window }
        }
    }
}

/// The throttle shared by the admin port's connections.
public final class SharedAuthFailureThrottle: Sendable {
    private let throttle = NIOLockedValueBox(AuthFailureThrottle())

    public init() {}

    public func lockedUntil(_ block: AddressBlock, now: Date) -> Date? {
        throttle.withLockedValue { $0.lockedUntil(block, now: now) }
    }

    @discardableResult
    public func fail(_ block: AddressBlock, now: Date) -> Date? {
        throttle.withLockedValue { $0.fail(block, now: now) }
    }
}
