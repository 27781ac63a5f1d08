import Foundation
import TallyCore

/// A licence's state as `tally client dli --json` prints it: what `slmgr /dli` shows, plus what Tally adds.
public struct LicenseReport: Codable, Sendable, Equatable {
    /// The machine's CMID.
    public var cmid: String
    /// The machine fingerprint (SHA-256 hex).
    public var fingerprint: String
    /// The machine name sent to hosts.
    public var machineName: String
    public var sku: String
    /// The SKU's display name, when the profile knows it.
    public var name: String?
    public var productClass: String?
    /// The licence state, named as KMS names it ("Licensed", "Initial grace", …).
    public var licenseStatus: LicenseStatus
    /// When the current state ends: the ticket's expiry when licensed, else the end of grace; `nil` once in
    /// notification.
    public var expires: Date?
    /// The result of the last activation attempt, as `0xC004F038`.
    public var lastResult: ResultCode?
    /// The host's count for the SKU's class at the last answer.
    public var hostCount: Int?
    /// The count the class needs.
    public var requiredCount: Int?
    /// The host that gave the last answer (`name:port`): the address used.
    public var host: String?
    /// The SRV target of the discovered host that last answered (KMS's "KMS machine name from DNS").
    public var hostNameFromDNS: String? = nil
    /// Retry interval while not activated, minutes.
    public var activationInterval: Int
    /// Renewal interval once activated, minutes.
    public var renewalInterval: Int
    public var lastAttempt: Date?
    public var nextAttempt: Date
    public var activatedAt: Date?
    public var installedAt: Date
    /// When the machine's CMID was made, the start of its grace; `nil` for a CMID of an older Tally.
    public var cmidCreated: Date?
    /// The end of the machine's install grace: 30 days after the CMID was made; `nil` when there is none (a CMID
    /// from an older Tally, or one that says it was made later than the clock allows).
    public var graceEnds: Date?
    public var ticketExpires: Date?
    /// The host pinned with `skms`, if any.
    public var pinnedHost: String?
    /// The domain set with `skms-domain`, if any.
    public var domain: String?
    public var hostCaching: Bool
    /// The discovered host reused while host caching is on.
    public var cachedHost: String?
    /// Why the ticket held is not trusted (tampered, foreign vendor, another machine), or why it was dropped.
    public var ticketProblem: String?
    /// Whether the clock was found set back beyond the tolerance (its floor was used instead).
    public var clockRolledBack: Bool
    /// The time the report was made for (the clock's floor when the clock was set back).
    public var trustedTime: Date
    /// The newest time a host signed in a token this machine holds (a ticket's issue, the last answer): the
    /// clock is never taken below it.
    public var newestHostTime: Date?
    /// Whether this load found the state copied from another machine and made a new CMID.
    public var stateCopied: Bool
    /// Whether this load replaced a CMID made by an older Tally (which carries no creation time, so no grace)
    /// by a new one, because a licence needed install grace.
    public var legacyCMIDReplaced: Bool
    public var rearmCount: Int
    public var rearmLimit: Int
    /// The verified ticket's claims, when the ticket is genuine (`dlv`).
    public var ticket: TicketDetails?
}

/// What a genuine ticket says, for `tally client dlv`.
public struct TicketDetails: Codable, Sendable, Equatable {
    /// The host id that issued it.
    public var hostID: String
    /// The vendor that certified the host.
    public var vendor: String
    /// The vendor root key that signed the host certificate.
    public var vendorKey: String
    public var certificateSerial: Int
    public var certificateExpires: Date
    public var productGroup: String
    /// The host's count when the ticket was issued.
    public var count: Int
    public var issuedAt: Date
    public var renewAfter: Date
    public var expires: Date
    /// The ticket's unique id.
    public var id: String
}

extension TallyClient {
    /// The state of an installed licence (`slmgr /dli`), with the ticket verified offline against the vendor's
    /// roots, this CMID, this machine's fingerprint and the SKU. A ticket that does not verify (tampered, from
    /// a foreign vendor, from another machine) is reported in ``LicenseReport/ticketProblem`` and is never
    /// trusted: the licence is then in non-genuine grace.
    ///
    /// Reading the state also advances the clock's high-water mark and moves a state copied from another
    /// machine (or with a CMID of an older Tally that needs grace) to a new CMID, so it writes the state directory.
    ///
    /// - Parameter sku: the SKU; `nil` for the only one installed.
    public func status(sku: String? = nil, now: Date = Date()) throws(TallyError) -> LicenseReport {
        try locked { () throws(TallyError) -> LicenseReport in
            let state = try load(now: now)
            let id = try state.select(sku)
            try save(state)
            return try report(id, in: state)
        }
    }

    /// The state of every installed licence, sorted by SKU (empty when none is installed but the state exists).
    public func statusOfAll(now: Date = Date()) throws(TallyError) -> [LicenseReport] {
        try locked { () throws(TallyError) -> [LicenseReport] in
            let state = try load(now: now)
            try save(state)
            var reports: [LicenseReport] = []
            for id in state.machine.licenses.keys.sorted() { reports.append(try report(id, in: state)) }
            return reports
        }
    }

    /// The installed SKUs.
    public func installedSKUs() throws(TallyError) -> [String] {
        try locked { () throws(TallyError) -> [String] in
            (try readMachine())?.licenses.keys.sorted() ?? []
        }
    }

    /// The discovery settings (`skms`, `skms-domain`, `skhc`).
    public func settings() throws(TallyError) -> ClientSettings {
        try locked { () throws(TallyError) -> ClientSettings in try readSettings() }
    }

    func report(_ id: String, in state: ClientState) throws(TallyError) -> LicenseReport {
        let license = state.machine.licenses[id]!
        let (check, verified) = checkTicket(license, machine: state.machine, roots: state.roots, now: state.now)
        let graceEnds = state.machine.graceEnds(at: state.now)
        let status = license.status(at: state.now, ticket: check, graceEnds: graceEnds)
        let sku = state.profile.skus.first { $0.id == id }
        var problem: String?
        if case let .invalid(reason) = check { problem = reason }
        if state.copied {
            problem = "this state was copied from another machine: a new CMID was made and the tickets were dropped"
        } else if state.legacyCMIDReplaced {
            problem = "this state's CMID was made by an older Tally and carries no creation time to anchor grace to: a new CMID was made and the tickets were dropped"
        } else if state.machine.cmidIsFromTheFuture(at: state.now), let created = state.machine.createdAt {
            let reason = "this machine's CMID says it was made at \(ISO8601DateFormatter().string(from: created)), after this clock's time: the state was edited or the clock set back, so there is no grace"
            problem = problem.map { $0 + "; " + reason } ?? reason
        }
        let details = verified.map { ticket in
            TicketDetails(hostID: ticket.claims.iss, vendor: ticket.certificate.claims.iss, vendorKey: ticket.certificate.signer,
                          certificateSerial: ticket.certificate.claims.serial, certificateExpires: ticket.certificate.claims.exp.date,
                          productGroup: ticket.certificate.claims.grp, count: ticket.claims.cnt, issuedAt: ticket.claims.iat.date,
                          renewAfter: ticket.claims.rnw.date, expires: ticket.claims.exp.date, id: ticket.claims.jti)
        }
        return LicenseReport(
            cmid: state.machine.cmid, fingerprint: identity.fingerprint, machineName: identity.name, sku: id, name: sku?.name,
            productClass: sku?.class, licenseStatus: status, expires: Self.expiry(status: status, check: check, graceEnds: graceEnds),
            lastResult: license.lastResult, hostCount: license.hostCount, requiredCount: license.requiredCount,
            host: license.lastHost, hostNameFromDNS: state.settings.discoveredHostName, activationInterval: license.activationInterval, renewalInterval: license.renewalInterval,
            lastAttempt: license.lastAttempt, nextAttempt: license.nextAttempt, activatedAt: license.activatedAt,
            installedAt: license.installedAt, cmidCreated: state.machine.createdAt, graceEnds: graceEnds, ticketExpires: verified?.claims.exp.date,
            pinnedHost: state.settings.pinnedHost?.description, domain: state.settings.domain,
            hostCaching: state.settings.hostCaching, cachedHost: state.settings.cachedHost?.description, ticketProblem: problem,
            clockRolledBack: state.clock.rolledBack, trustedTime: state.now, newestHostTime: state.clock.hostSigned,
            stateCopied: state.copied, legacyCMIDReplaced: state.legacyCMIDReplaced,
            rearmCount: state.machine.rearmCount, rearmLimit: state.profile.rearmLimit, ticket: details)
    }

    /// Verifies the held ticket offline. Only a genuine ticket for this machine counts: anything else is
    /// `.invalid` with the reason.
    func checkTicket(_ license: ClientLicense, machine: ClientMachine, roots: TrustedRoots, now: Date) -> (TicketCheck, VerifiedTicket?) {
        guard let ticket = license.ticket else { return (.none, nil) }
        func verify(at time: Date) throws(TokenError) -> VerifiedTicket {
            try VerifiedTicket.verify(ticket, certificate: license.certificate, roots: roots, now: time, cmid: machine.cmid,
                                      fingerprint: identity.fingerprint, sku: license.sku)
        }
        do {
            let verified = try verify(at: now)
            return (.valid(expires: verified.claims.exp.date), verified)
        } catch {
            switch error.reason {
            case .expired:
                // Expired, or tampered and expired? Only a ticket genuine just before its expiry is "expired".
                if let expires = license.ticketExpires, let verified = try? verify(at: expires.addingTimeInterval(-1)) {
                    return (.expired(at: verified.claims.exp.date), verified)
                }
                return (.invalid(reason: "the ticket does not verify: \(error.detail)"), nil)
            case .notYetValid:
                // The host's clock may run ahead of this one by up to the skew tolerance.
                if let verified = try? verify(at: now.addingTimeInterval(Intervals.clockSkewTolerance)) {
                    return (.valid(expires: verified.claims.exp.date), verified)
                }
                return (.invalid(reason: "the ticket is not valid yet: \(error.detail)"), nil)
            case .wrongFingerprint:
                return (.invalid(reason: "the ticket was issued to another machine (its fingerprint is not this machine's)"), nil)
            case .wrongSubject:
                return (.invalid(reason: "the ticket was issued to another CMID: \(error.detail)"), nil)
            case .unknownSigner:
                return (.invalid(reason: "the ticket's host was not certified by this vendor: \(error.detail)"), nil)
            default:
                return (.invalid(reason: "the ticket does not verify (\(error.reason.rawValue)): \(error.detail)"), nil)
            }
        }
    }

    /// When the current state ends.
    static func expiry(status: LicenseStatus, check: TicketCheck, graceEnds: Date?) -> Date? {
        switch (status, check) {
        case let (.licensed, .valid(expires)):
            return expires
        case let (.additionalGrace, .expired(expires)), let (.additionalGrace, .valid(expires)):
            return expires.addingTimeInterval(Intervals.gracePeriod)
        case (.initialGrace, _), (.extendedGrace, _), (.nonGenuineGrace, _):
            return graceEnds
        default:
            return nil
        }
    }
}
