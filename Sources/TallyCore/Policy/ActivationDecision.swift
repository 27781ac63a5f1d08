import Foundation

/// The times of a ticket the policy grants: issued now, renew after the host's renewal interval, expire after
/// 180 days, never after the host certificate.
public struct TicketTimes: Sendable, Equatable {
    public var issuedAt: Date
    public var renewAfter: Date
    public var expires: Date

    public init(issuedAt: Date, renewAfter: Date, expires: Date) {
        self.issuedAt = issuedAt
        self.renewAfter = renewAfter
        self.expires = expires
    }
}

/// The intervals a host hands to its clients, in minutes, as the administrator set them (`/sai`, `/sri`).
public struct ClientIntervals: Sendable, Equatable {
    /// Retry interval of a client that is not activated.
    public var activation: Int
    /// Renewal interval of an activated client.
    public var renewal: Int

    public init(activation: Int = Intervals.defaultActivationMinutes, renewal: Int = Intervals.defaultRenewalMinutes) {
        self.activation = activation
        self.renewal = renewal
    }

    /// Both clamped to 15 min .. 30 days, as an answer carries them.
    public var clamped: ClientIntervals {
        ClientIntervals(activation: Intervals.clamp(minutes: activation), renewal: Intervals.clamp(minutes: renewal))
    }
}

/// The policy's answer to one request: everything the signed answer says, decided in one place.
public struct ActivationDecision: Sendable, Equatable {
    public var code: ResultCode
    /// The class of the SKU, when known.
    public var productClass: String?
    /// The class's count including this machine when it was counted; else the count as it stands.
    public var currentCount: Int
    public var requiredCount: Int
    /// Whether this request is a sighting that counts (and must be stored).
    public var counted: Bool
    /// The intervals the answer carries, clamped.
    public var intervals: ClientIntervals
    /// The ticket's times, when the decision grants one.
    public var ticket: TicketTimes?

    public init(code: ResultCode, productClass: String?, currentCount: Int, requiredCount: Int, counted: Bool,
                intervals: ClientIntervals = ClientIntervals().clamped, ticket: TicketTimes? = nil) {
        self.code = code
        self.productClass = productClass
        self.currentCount = currentCount
        self.requiredCount = requiredCount
        self.counted = counted
        self.intervals = intervals
        self.ticket = ticket
    }

    public var grantsTicket: Bool { ticket != nil }
}
