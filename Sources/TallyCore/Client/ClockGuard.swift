import Foundation

/// A client's floor for the time: a clock set back further than the skew tolerance is reported, and the floor is
/// used instead.
///
/// The floor is the later of two times. The high-water mark is the latest time this client has seen; it lives in
/// the state file, so whoever can edit that file can lower it, and it only catches a clock set back by mistake.
/// The host-signed time is the newest time a host signed in a token the client holds (a ticket's `iat`, an
/// answer's `htm`); the client reads it from the tokens themselves at every start, so editing the state cannot
/// take the clock below it.
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
        /// The newest host-signed time the client holds, when it holds one.
        public var hostSigned: Date?

        public init(trusted: Date, rolledBack: Bool, hostSigned: Date? = nil) {
            self.trusted = trusted
            self.rolledBack = rolledBack
            self.hostSigned = hostSigned
        }
    }

    /// Reads the clock: moves the mark forward, or reports a rollback beyond `tolerance` below the floor (the later
    /// of the high-water mark and `hostSigned`).
    public mutating func observe(_ now: Date, hostSigned: Date? = nil, tolerance: TimeInterval = Intervals.clockSkewTolerance) -> Reading {
        // The mark records only what this clock said: a host's time raises the floor for this reading, so that a
        // host whose clock ran ahead is forgotten once the last answer is from a host whose clock is right.
        let floor = max(highWater, hostSigned ?? .distantPast)
        if now < floor.addingTimeInterval(-tolerance) {
            return Reading(trusted: floor, rolledBack: true, hostSigned: hostSigned)
        }
        if now > highWater { highWater = now }
        return Reading(trusted: now, rolledBack: false, hostSigned: hostSigned)
    }
}
