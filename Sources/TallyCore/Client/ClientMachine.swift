import Foundation

/// A client machine's Tally state for one vendor: its CMID, the fingerprint it was made on, the rearm count,
/// the clock's high-water mark and one licence per installed SKU.
public struct ClientMachine: Codable, Sendable, Equatable {
    public var cmid: String
    public var fingerprint: String
    public var rearmCount: Int
    public var clock: ClockGuard
    public var licenses: [String: ClientLicense]

    public init(fingerprint: String, now: Date, cmid: String = CMID.generate()) {
        self.cmid = cmid
        self.fingerprint = fingerprint
        rearmCount = 0
        clock = ClockGuard(highWater: now)
        licenses = [:]
    }

    /// Checks the state against the machine it runs on. A state copied from another machine gets a new CMID
    /// and loses its tickets, so it activates afresh. Returns whether it was a copy.
    public mutating func adopt(fingerprint current: String, now: Date) -> Bool {
        guard current != fingerprint else { return false }
        fingerprint = current
        cmid = CMID.generate()
        for sku in licenses.keys { licenses[sku]!.reset(now: now, status: .initialGrace) }
        return true
    }

    /// Makes a new CMID and restarts grace (extended grace), up to the catalog's rearm limit.
    public mutating func rearm(limit: Int, now: Date) throws(TallyError) {
        guard rearmCount < limit else {
            throw TallyError(.rearmLimitReached, "this machine has been rearmed \(rearmCount) times; the limit is \(limit)")
        }
        rearmCount += 1
        cmid = CMID.generate()
        for sku in licenses.keys { licenses[sku]!.reset(now: now, status: .extendedGrace) }
    }
}
