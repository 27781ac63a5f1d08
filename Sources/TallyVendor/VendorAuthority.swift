import Foundation
import TallyCore
import TallyFiles

/// The vendor's state directory and what the vendor does with it: the root key, the catalog, the host-key
/// ledger, host activation.
///
/// Files: `vendor-root.jwk` (private, 0600), `vendor-public.jwk`, `catalog.json`, `ledger.json`,
/// `client-profile.json`.
public struct VendorAuthority: Sendable {
    public let directory: StateDirectory

    public static let rootKeyFile = "vendor-root.jwk"
    public static let publicKeyFile = "vendor-public.jwk"
    public static let catalogFile = "catalog.json"
    public static let ledgerFile = "ledger.json"
    public static let profileFile = "client-profile.json"

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    /// Creates the root key, its public JWK, a starter catalog and an empty ledger. Refuses to overwrite.
    public func initialise(vendorID: String, vendorName: String) throws -> (publicKey: JWK, catalog: Catalog) {
        try directory.withLock {
            guard !directory.exists(Self.rootKeyFile) else {
                throw TallyError(.usageError, "\(directory.url.path) already holds a vendor root key; refusing to replace it",
                                 remedy: "Use another --state-dir, or move the existing vendor state away first.")
            }
            let root = SigningKey.generate(kidPrefix: "vendor-")
            let catalog = Catalog.starter(vendorID: vendorID, vendorName: vendorName)
            try directory.writeSecret(root.exportPrivate(), to: Self.rootKeyFile)
            try directory.writeJSON(root.publicJWK, to: Self.publicKeyFile)
            try directory.writeJSON(catalog, to: Self.catalogFile)
            try directory.writeJSON(HostKeyLedger(), to: Self.ledgerFile)
            try directory.writeJSON(ClientProfile(catalog: catalog, roots: [root.publicJWK]), to: Self.profileFile)
            return (root.publicJWK, catalog)
        }
    }

    public func rootKey() throws -> SigningKey {
        try SigningKey.importPrivate(directory.readSecret(Self.rootKeyFile))
    }

    public func publicKey() throws -> JWK {
        try directory.readJSON(JWK.self, from: Self.publicKeyFile)
    }

    /// Loads and checks the catalog; every problem is reported with its place.
    public func catalog() throws -> Catalog {
        let text = String(decoding: try directory.read(Self.catalogFile), as: UTF8.self)
        switch Catalog.load(text) {
        case let .success(catalog): return catalog
        case let .failure(problems):
            throw TallyError(.catalogInvalid, "\(directory.file(Self.catalogFile).path) has \(problems.problems.count) problem(s):\n"
                + problems.problems.map { "  \($0)" }.joined(separator: "\n"))
        }
    }

    /// Rewrites the client profile from the catalog (after the vendor edited it).
    public func writeClientProfile() throws -> ClientProfile {
        let profile = ClientProfile(catalog: try catalog(), roots: [try publicKey()])
        try directory.writeJSON(profile, to: Self.profileFile)
        return profile
    }

    public func ledger() throws -> HostKeyLedger {
        try directory.readJSON(HostKeyLedger.self, from: Self.ledgerFile)
    }

    /// Issues a host key for `group`; the ledger keeps only its hash.
    public func issueHostKey(group: String, maxHosts: Int = 6, maxActivationsPerHost: Int = 10, now: Date = Date()) throws -> ProductKey {
        guard maxHosts >= 1, maxActivationsPerHost >= 1 else {
            throw TallyError(.usageError, "--max-hosts and --max-activations-per-host must be at least 1")
        }
        let catalog = try catalog()
        guard catalog.group(group) != nil else {
            throw TallyError(.usageError, "group '\(group)' is not in the catalog (groups: \(catalog.groups.map(\.id).joined(separator: ", ")))")
        }
        return try directory.withLock {
            var ledger = try ledger()
            let key = ProductKey.generate(.host)
            ledger.add(key, group: group, maxHosts: maxHosts, maxActivationsPerHost: maxActivationsPerHost, now: now)
            try directory.writeJSON(ledger, to: Self.ledgerFile)
            return key
        }
    }

    /// The outcome of activating a host.
    public struct Activation: Sendable {
        public var certificate: String
        public var claims: HostCertificateClaims
        public var unlock: HostKeyLedger.Unlock
        public var keyID: String
    }

    /// Checks a host's activation request (proof of possession, the key, the unlock limit) and issues its
    /// certificate with the group's SKUs expanded. Nothing is written when the request is refused.
    public func activateHost(request compact: String, now: Date = Date(), validity: TimeInterval = Intervals.certificateValidity) throws -> Activation {
        let request: VerifiedHostActivationRequest
        do {
            request = try VerifiedHostActivationRequest.verify(compact.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw error.tallyError("the host activation request")
        }
        let key = try ProductKey(request.claims.key)
        guard key.kind == .host else {
            throw TallyError(.keyDoesNotMatch, "the request carries a client setup key, not a host key",
                             hint: "The host must install the secret host key the vendor issued (`tally host install-key`).")
        }
        guard CMID.validate(request.claims.hid) != nil else {
            throw TallyError(.malformedRequest, "the request's host id is not a UUID")
        }
        let catalog = try catalog()
        let root = try rootKey()
        return try directory.withLock {
            var ledger = try ledger()
            let (entry, unlock, serial) = try ledger.unlock(hash: key.hash, hostID: request.claims.hid,
                                                            thumbprint: request.claims.cnf.jwk.thumbprint, now: now)
            let skus = catalog.expand(group: entry.group)
            let claims = HostCertificateClaims(iss: catalog.vendor.id, sub: request.claims.hid, hostKey: request.claims.cnf.jwk,
                                               hkh: key.hash, grp: entry.group, skus: skus, thr: catalog.thresholds(for: skus),
                                               serial: serial, issuedAt: now, validity: validity)
            let certificate = try HostCertificate.issue(claims, root: root)
            try directory.writeJSON(ledger, to: Self.ledgerFile)
            return Activation(certificate: certificate, claims: claims, unlock: unlock, keyID: entry.keyID)
        }
    }

    public func blockHostKey(keyID: String) throws {
        try directory.withLock {
            var ledger = try ledger()
            guard ledger.block(keyID: keyID) else {
                throw TallyError(.usageError, "no host key with id \(keyID) in the ledger (ids look like hk-0123456789ab)")
            }
            try directory.writeJSON(ledger, to: Self.ledgerFile)
        }
    }
}
