import Foundation
import NIOConcurrencyHelpers

/// The host's time source. Production reads the system clock; tests move a manual clock forward, so no test
/// waits for time to pass.
public final class HostClock: Sendable {
    private let offset = NIOLockedValueBox<TimeInterval>(0)
    private let fixed = NIOLockedValueBox<Date?>(nil)
    /// Tasks in ``sleep(until:wake:)``, resumed when ``advance(by:)`` moves the clock past their deadline.
    let sleepers = NIOLockedValueBox(ClockSleepers())

    public init() {}

    /// A clock that reads `start` until moved.
    public static func manual(_ start: Date) -> HostClock {
        let clock = HostClock()
        clock.fixed.withLockedValue { $0 = start }
        return clock
    }

    public func now() -> Date {
        if let fixed = fixed.withLockedValue({ $0 }) { return fixed }
        return Date().addingTimeInterval(offset.withLockedValue { $0 })
    }

    /// Moves the clock forward (or back) by `interval`.
    public func advance(by interval: TimeInterval) {
        fixed.withLockedValue { value in
            if let current = value { value = current.addingTimeInterval(interval) }
        }
        offset.withLockedValue { $0 += interval }
        resumeSleepers()
    }

    /// Whether the clock is manual (it moves only when advanced).
    var isManual: Bool { fixed.withLockedValue { $0 != nil } }
}
