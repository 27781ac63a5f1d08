import Foundation

/// One installed SKU on a client and its timers, as a plain value: every transition takes the time (and the
/// jitter) as input and no method does I/O.
///
/// The licence keeps no end of grace of its own: grace is the machine's, anchored to its CMID
/// (``ClientMachine/graceEnds(at:)``), so a date edited in the state file is not believed.
public struct ClientLicense: Codable, Sendable, Equatable {
    public var sku: String
    public var setupKey: String
    /// When the key was installed (for the administrator; grace runs from the CMID's creation).
    public var installedAt: Date
    /// The grace state before activation: initial grace, or extended grace after a rearm.
    public var graceStatus: LicenseStatus
    /// The ticket (compact JWS) held, if any.
    public var ticket: String?
    /// The host certificate the ticket was issued under, kept beside a version-2 ticket (whose header carries
    /// none); `nil` for a version-1 ticket.
    public var certificate: String?
    public var ticketExpires: Date?
    public var activatedAt: Date?
    /// Retry interval while not activated, minutes (the host's value after the first answer).
    public var activationInterval: Int
    /// Renewal interval once activated, minutes.
    public var renewalInterval: Int
    public var lastAttempt: Date?
    public var lastResult: ResultCode?
    public var hostCount: Int?
    public var requiredCount: Int?
    /// The host that gave the last answer (`name:port`).
    public var lastHost: String?
    /// When the next activation or renewal is due.
    public var nextAttempt: Date

    public init(sku: String, setupKey: String, installedAt: Date) {
        self.sku = sku
        self.setupKey = setupKey
        self.installedAt = installedAt
        graceStatus = .initialGrace
        activationInterval = Intervals.defaultActivationMinutes
        renewalInterval = Intervals.defaultRenewalMinutes
        nextAttempt = installedAt
    }

    /// The licence state at `now`, given what offline verification found of the ticket and the end of the
    /// machine's grace (`nil`: no grace, see ``ClientMachine/graceEnds(at:)``).
    public func status(at now: Date, ticket check: TicketCheck, graceEnds: Date?) -> LicenseStatus {
        let inGrace = graceEnds.map { now < $0 } ?? false
        switch check {
        case let .valid(expires) where now < expires:
            return .licensed
        case let .valid(expires), let .expired(expires):
            // Additional grace runs from the ticket's signed expiry.
            return now < expires.addingTimeInterval(Intervals.gracePeriod) ? .additionalGrace : .notification
        case .invalid:
            return inGrace ? .nonGenuineGrace : .notification
        case .none:
            return inGrace ? graceStatus : .notification
        }
    }

    /// The jitter added to a timer: up to a tenth of the interval, at most 12 hours. `fraction` is in 0..<1.
    public static func jitter(intervalMinutes: Int, fraction: Double) -> TimeInterval {
        let clamped = min(max(fraction, 0), 1)
        return min(Double(intervalMinutes) * 60 * 0.1, 12 * 3600) * clamped
    }

    /// Applies a verified answer from a host.
    ///
    /// A refusal keeps a ticket that is still valid: a count that fell below the threshold does not take away
    /// an activation already granted.
    ///
    /// - Parameters:
    ///   - ticket: the granted ticket (protocol 2: the answer's token); `nil` takes the version-1 response's `tkt`.
    ///   - certificate: the host certificate kept with a version-2 ticket.
    public mutating func apply(_ response: ResponseClaims, ticket granted: String? = nil, certificate: String? = nil, ticketExpires: Date?,
                               host: String?, now: Date, jitter fraction: Double) {
        activationInterval = Intervals.clamp(minutes: response.ai)
        renewalInterval = Intervals.clamp(minutes: response.ri)
        lastAttempt = now
        lastResult = response.res
        hostCount = response.cur
        requiredCount = response.req
        lastHost = host
        if response.res == .success, let tkt = granted ?? response.tkt, let ticketExpires {
            ticket = tkt
            self.certificate = granted == nil ? nil : certificate
            self.ticketExpires = ticketExpires
            activatedAt = now
            nextAttempt = now.addingTimeInterval(Double(renewalInterval) * 60
                + ClientLicense.jitter(intervalMinutes: renewalInterval, fraction: fraction))
            // A ticket that ends with its host certificate must be renewed before it ends, not after.
            nextAttempt = min(nextAttempt, ticketExpires)
        } else {
            scheduleRetry(now: now, jitter: fraction)
        }
    }

    /// Notes a failed attempt (no host, no answer, answer rejected): retry after the activation interval.
    public mutating func applyFailure(_ code: ResultCode, host: String?, now: Date, jitter fraction: Double) {
        lastAttempt = now
        lastResult = code
        lastHost = host
        scheduleRetry(now: now, jitter: fraction)
    }

    private mutating func scheduleRetry(now: Date, jitter fraction: Double) {
        nextAttempt = now.addingTimeInterval(Double(activationInterval) * 60
            + ClientLicense.jitter(intervalMinutes: activationInterval, fraction: fraction))
        // Never wait past the ticket's expiry to try again.
        if let ticketExpires, ticketExpires > now { nextAttempt = min(nextAttempt, ticketExpires) }
    }

    /// Whether an activation or renewal is due.
    public func isDue(at now: Date) -> Bool { now >= nextAttempt }

    /// Forgets the ticket (a copied state, or a rearm: the machine has a new CMID, whose grace starts now) and
    /// names the grace `status`.
    public mutating func reset(now: Date, status: LicenseStatus) {
        ticket = nil
        certificate = nil
        ticketExpires = nil
        activatedAt = nil
        lastResult = nil
        hostCount = nil
        requiredCount = nil
        graceStatus = status
        nextAttempt = now
    }
}
