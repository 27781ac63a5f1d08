import Foundation

/// A client licence's state, named as KMS names them.
public enum LicenseStatus: String, Codable, Sendable, CaseIterable {
    /// No setup key installed.
    case unlicensed = "Unlicensed"
    /// A valid ticket for this machine.
    case licensed = "Licensed"
    /// Key installed, never activated, within 30 days of installing.
    case initialGrace = "Initial grace"
    /// The ticket expired; 30 days to renew before notification.
    case additionalGrace = "Additional grace"
    /// The ticket held does not verify (tampered, foreign vendor); 30 days to activate afresh.
    case nonGenuineGrace = "Non-genuine grace"
    /// Grace is over and the machine is not activated.
    case notification = "Notification"
    /// Grace restarted by `rearm`.
    case extendedGrace = "Extended grace"
}

/// What the client found when it verified the ticket it holds, offline.
public enum TicketCheck: Sendable, Equatable {
    case none
    case valid(expires: Date)
    case expired(at: Date)
    /// Tampered, signed by a foreign vendor, or otherwise not to be trusted.
    case invalid(reason: String)
}
