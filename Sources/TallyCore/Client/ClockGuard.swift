import Foundation

/// A client's high-water mark of the time: a clock set back further than the skew tolerance is reported, and
/// the latest time seen is used instead.
public struct ClockGuard: Codable, Sendable, Equatable {
    public private(set) var highWater: Date

    public init(highWater: Date = .distantPast) {
        self.highWater = highWater
    }

    public struct Reading: Sendable, Equatable {
        /// The time to use.
        public var trusted: Date
        /// Whether the clock was found set back beyond the tolerance.
        public var rolledBack: Bool
    }

    /// Reads the clock: moves the mark forward, or reports a rollback beyond `tolerance`.
    public mutating func observe(_ now: Date, tolerance: TimeInterval = Intervals.clockSkewTolerance) -> Reading {
        if now < highWater.addingTimeInterval(-tolerance) {
            return Reading(trusted: highWater, rolledBack: true)
        }
        if now > highWater { highWater = now }
        return Reading(trusted: now, rolledBack: false)
    }
}
