import Foundation
import TallyCore

/// Check 7: this machine's clock against the host's time in its signed answer (`htm`). More than 4 hours
/// apart is C004F06C (the host refuses); more than 5 minutes is a warning. A clock set back behind the time
/// this client has already seen is reported too.
package struct ClockSkewCheck: DoctorCheck {
    package var name: DoctorCheckName { .clockSkew }

    /// Clocks further apart than this deserve a look, though the host still accepts them.
    package static let warningSkew: TimeInterval = 5 * 60

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        guard let (host, response) = session.verifiedAnswer else {
            return .notChecked(name, because: session.unansweredReason)
        }
        let hostTime = response.claims.htm.date
        let skew = session.now.timeIntervalSince(hostTime)
        let difference = abs(skew) < 1 ? "within 1 s of" : "\(DoctorText.duration(skew)) \(skew > 0 ? "ahead of" : "behind")"
        let finding = "this machine's clock (\(DoctorText.iso(session.now))) is \(difference) the clock of \(host) (\(DoctorText.iso(hostTime)))"
        let remedy = "Synchronise the clocks of this machine and the host with NTP (both in UTC); check the time zone setting if they differ by whole hours."
        if abs(skew) > Intervals.clockSkewTolerance || response.claims.res == .clockSkew {
            return .fail(name, .clockSkew, finding + "; more than the \(DoctorText.duration(Intervals.clockSkewTolerance)) the host accepts, so it refuses to count or activate this machine",
                         remedy: remedy)
        }
        if abs(skew) > Self.warningSkew {
            return .warn(name, .clockSkew, finding + "; the host accepts up to \(DoctorText.duration(Intervals.clockSkewTolerance)), but the clocks should agree", remedy: remedy)
        }
        if let machine = session.machine, session.now < machine.clock.highWater.addingTimeInterval(-Intervals.clockSkewTolerance) {
            return .warn(name, .clockRolledBack,
                         finding + "; but the clock is behind the latest time this client has seen (\(DoctorText.iso(machine.clock.highWater))), so the client uses that time instead")
        }
        return .pass(name, finding)
    }
}
