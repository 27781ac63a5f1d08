import Foundation
import TallyCore
import TallyFiles

/// What ``TallyClient/installKey(_:now:)`` did.
public struct InstalledKey: Codable, Sendable, Equatable {
    /// The SKU the key belongs to.
    public var sku: String
    /// The SKU's display name from the profile.
    public var name: String
    /// The SKU's product class (its threshold is the host's business).
    public var productClass: String
    /// The machine's CMID.
    public var cmid: String
    /// Whether this install made the machine's CMID: a new state, or one copied from another machine or made by
    /// an older Tally (see ``LicenseReport/legacyCMIDReplaced``).
    public var newMachine: Bool
    /// Whether the key was already installed (nothing changed).
    public var alreadyInstalled: Bool
}

/// What ``TallyClient/rearm(now:)`` did.
public struct RearmResult: Codable, Sendable, Equatable {
    public var previousCMID: String
    /// The new CMID: the host counts this machine afresh.
    public var cmid: String
    public var rearmCount: Int
    public var rearmLimit: Int
}

extension TallyClient {
    /// Installs a client setup key (`slmgr /ipk`): the machine becomes a client for the key's SKU, in initial
    /// grace until it activates. The first install creates the machine's CMID, and with it the machine's grace: 30
    /// days from then, shared by every SKU installed later (``rearm(now:)`` starts a new grace with a new CMID).
    ///
    /// Installing a key that is already installed changes nothing.
    ///
    /// - Throws: ``TallyError`` with ``ResultCode/invalidKey`` for a mistyped key; ``ResultCode/keyDoesNotMatch``
    ///   for a host key (with a hint) or a setup key that is not one of this vendor's products;
    ///   ``ResultCode/stateUnreadable`` when the profile's roots are unusable.
    @discardableResult
    public func installKey(_ key: String, now: Date = Date()) throws(TallyError) -> InstalledKey {
        let parsed = try ProductKey(key)
        guard parsed.kind == .clientSetup else {
            throw TallyError(.keyDoesNotMatch, "\(parsed) is a host key; a client needs the client setup key of its product",
                             remedy: "Install the SKU's client setup key (`tally client ipk SETUP-KEY`); the vendor's client profile lists them.",
                             hint: "\"I installed a host key on a client\": host keys are secret and belong on the activation host (`tally host install-key`). Keep this one safe and install the public client setup key here instead.")
        }
        return try locked { () throws(TallyError) -> InstalledKey in
            let roots = try trustedRoots(of: profile)
            guard let sku = profile.sku(forSetupKey: parsed) else {
                throw TallyError(.keyDoesNotMatch, "\(parsed) is a client setup key, but not a key of \(profile.vendor)'s products",
                                 remedy: "Install the setup key of one of this vendor's SKUs: " + profile.skus.map(\.id).joined(separator: ", ")
                                    + "; or use the client profile of the vendor that issued this key.")
            }
            var machine: ClientMachine
            let trusted: Date
            let previous = try readMachine()
            if var existing = previous {
                trusted = observeClock(&existing, now: now, roots: roots).trusted
                if !existing.adopt(fingerprint: identity.fingerprint, now: trusted) {
                    _ = replaceLegacyCMIDIfNeeded(&existing, roots: roots, now: trusted)
                }
                machine = existing
            } else {
                // The CMID is made now: the machine's grace starts with it.
                machine = ClientMachine(fingerprint: identity.fingerprint, now: now)
                trusted = now
            }
            let already = machine.licenses[sku.id] != nil
            if !already {
                machine.licenses[sku.id] = ClientLicense(sku: sku.id, setupKey: parsed.description, installedAt: trusted)
                // A legacy CMID has no grace to give the new licence.
                _ = replaceLegacyCMIDIfNeeded(&machine, roots: roots, now: trusted)
            }
            try directory.writeJSON(machine, to: Self.machineFile)
            return InstalledKey(sku: sku.id, name: sku.name, productClass: sku.class, cmid: machine.cmid, newMachine: machine.cmid != previous?.cmid,
                                alreadyInstalled: already)
        }
    }

    /// Uninstalls a client setup key (`slmgr /upk`) with its ticket. The CMID stays.
    ///
    /// - Parameter sku: the SKU; `nil` for the only one installed.
    /// - Returns: the SKU uninstalled.
    @discardableResult
    public func uninstallKey(sku: String? = nil, now: Date = Date()) throws(TallyError) -> String {
        try locked { () throws(TallyError) -> String in
            var state = try load(now: now)
            let id = try state.select(sku)
            state.machine.licenses[id] = nil
            try save(state)
            return id
        }
    }

    /// Makes a new CMID and restarts grace for every SKU (`slmgr /rearm`), up to the profile's rearm limit.
    /// Tickets are dropped: the machine activates afresh under its new CMID, made now (its grace runs from it).
    ///
    /// The rearm count is kept in the state directory, where root can reset it; each rearm it buys is a new CMID,
    /// which the host counts and lists as a machine of its own.
    ///
    /// - Throws: ``TallyError`` with ``ResultCode/rearmLimitReached`` (C004D307) beyond the limit.
    @discardableResult
    public func rearm(now: Date = Date()) throws(TallyError) -> RearmResult {
        try locked { () throws(TallyError) -> RearmResult in
            var state = try load(now: now)
            let previous = state.machine.cmid
            do throws(TallyError) {
                try state.machine.rearm(limit: state.profile.rearmLimit, now: state.now)
            } catch {
                try save(state)
                throw error
            }
            try save(state)
            return RearmResult(previousCMID: previous, cmid: state.machine.cmid, rearmCount: state.machine.rearmCount,
                               rearmLimit: state.profile.rearmLimit)
        }
    }
}
