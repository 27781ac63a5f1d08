import Foundation

/// A client machine's Tally state for one vendor: its CMID, the fingerprint it was made on, the rearm count,
/// the clock's high-water mark, the newest signed answer of a host, and one licence per installed SKU.
///
/// Nothing here is secret and root can edit all of it, so nothing that grants time is taken from a plain number:
/// grace runs from the CMID's creation time (a new grace means a new CMID, which the host counts), and the
/// clock's floor comes from host-signed tokens (``lastAnswer``, the tickets), the high-water mark only adding to it.
public struct ClientMachine: Codable, Sendable, Equatable {
    public var cmid: String
    public var fingerprint: String
    public var rearmCount: Int
    public var clock: ClockGuard
    /// The last signed answer (compact JWS) this machine received from a host: its `htm` is a floor for the clock.
    public var lastAnswer: String?
    /// The host certificate of ``lastAnswer`` when it is a protocol-2 answer (whose token carries none).
    public var lastAnswerCertificate: String?
    public var licenses: [String: ClientLicense]

    public init(fingerprint: String, now: Date, cmid: String? = nil) {
        self.cmid = cmid ?? CMID.generate(at: now)
        self.fingerprint = fingerprint
        rearmCount = 0
        clock = ClockGuard(highWater: now)
        licenses = [:]
    }

    /// When the CMID was made: the start of the machine's grace. `nil` for a CMID of an older Tally.
    public var createdAt: Date? { CMID.creationTime(of: cmid) }

    /// Whether the CMID is one an older Tally made (a random UUID, with no creation time in it).
    public var hasLegacyCMID: Bool { createdAt == nil }

    /// The end of the machine's install grace (initial, extended after a rearm, or non-genuine): 30 days after
    /// its CMID was made. `nil`, so no grace, when the CMID carries no time, or says it was made after `now`
    /// by more than the clock tolerance (the state was edited, or the clock set back before the CMID existed).
    public func graceEnds(at now: Date) -> Date? {
        guard let createdAt, createdAt <= now.addingTimeInterval(Intervals.clockSkewTolerance) else { return nil }
        return createdAt.addingTimeInterval(Intervals.gracePeriod)
    }

    /// Whether the CMID says it was made later than `now` allows.
    public func cmidIsFromTheFuture(at now: Date) -> Bool {
        guard let createdAt else { return false }
        return createdAt > now.addingTimeInterval(Intervals.clockSkewTolerance)
    }

    /// Checks the state against the machine it runs on. A state copied from another machine gets a new CMID
    /// and loses its tickets, so it activates afresh. Returns whether it was a copy.
    public mutating func adopt(fingerprint current: String, now: Date) -> Bool {
        guard current != fingerprint else { return false }
        fingerprint = current
        startOver(now: now, status: .initialGrace)
        return true
    }

    /// Replaces a CMID an older Tally made (no creation time, so no grace can be anchored to it) by a new one made
    /// `now`: the tickets held for the old CMID are dropped and the machine activates afresh, in initial grace.
    public mutating func replaceLegacyCMID(now: Date) {
        startOver(now: now, status: .initialGrace)
    }

    /// Makes a new CMID and restarts grace (extended grace), up to the catalog's rearm limit.
    ///
    /// The count lives in this file, so root can reset it; what a reset buys is more new CMIDs, each of which
    /// the host counts and lists as a machine when it asks.
    public mutating func rearm(limit: Int, now: Date) throws(TallyError) {
        guard rearmCount < limit else {
            throw TallyError(.rearmLimitReached, "this machine has been rearmed \(rearmCount) times; the limit is \(limit)")
        }
        rearmCount += 1
        startOver(now: now, status: .extendedGrace)
    }

    /// A new CMID made `now` (so grace starts now) and every licence without its ticket.
    private mutating func startOver(now: Date, status: LicenseStatus) {
        var next = CMID.generate(at: now)
        while next == cmid { next = CMID.generate(at: now) }
        cmid = next
        for sku in licenses.keys { licenses[sku]!.reset(now: now, status: status) }
    }
}
