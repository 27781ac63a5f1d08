import Foundation
import TallyCore
import TallyFiles

/// The vendor's state directory and what the vendor does with it: the roots, the catalog, the host-key ledger,
/// host activation.
///
/// Files: `vendor-root.jwk` (the offline root's private key, 0600; keep it off the serving machine),
/// `vendor-public.jwk` (its public key, for hosts), `root-KID.jwk` (other roots' private keys, 0600), `roots.json`
/// (every root's public key, role and state, and the statements vouching for each), `catalog.json`,
/// `ledger.sqlite` (host keys, certificates, audit, reports), `client-profile.json`.
public struct VendorAuthority: Sendable {
    public let directory: StateDirectory
    /// The ledger database, opened once and shared by copies of this value.
    private let ledgerHandle = LedgerHandle()

    public static let rootKeyFile = "vendor-root.jwk"
    public static let publicKeyFile = "vendor-public.jwk"
    public static let catalogFile = "catalog.json"
    public static let ledgerFile = "ledger.sqlite"
    /// The ledger of earlier versions, imported into ``ledgerFile`` on first use and renamed `ledger.json.imported`.
    public static let legacyLedgerFile = "ledger.json"
    public static let profileFile = "client-profile.json"
    public static let rootsFile = "roots.json"

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    /// Creates the offline root (its public JWK for hosts), the online root vouched for by the offline root, a
    /// starter catalog, the client profile listing both roots, and the ledger. Refuses to overwrite.
    public func initialise(vendorID: String, vendorName: String, vendorURL: String? = nil, now: Date = Date()) throws -> (publicKey: JWK, catalog: Catalog) {
        if let vendorURL, VendorURL(vendorURL) == nil {
            throw TallyError(.usageError, "--vendor-url \(vendorURL) is not an https:// URL (http:// only for localhost)")
        }
        return try directory.withLock {
            guard !directory.exists(Self.rootKeyFile), !directory.exists(Self.rootsFile) else {
                throw TallyError(.usageError, "\(directory.url.path) already holds a vendor root key; refusing to replace it",
                                 remedy: "Use another --state-dir, or move the existing vendor state away first.")
            }
            let offline = SigningKey.generate(kidPrefix: "vendor-")
            let online = SigningKey.generate(kidPrefix: "online-")
            var catalog = Catalog.starter(vendorID: vendorID, vendorName: vendorName)
            catalog.vendor.url = vendorURL
            let statement = try RootStatement.issue(RootStatementClaims(vendor: vendorID, root: online.publicJWK, issuedAt: now), signer: offline)
            let roots = VendorRoots(roots: [
                .init(kid: offline.kid, jwk: offline.publicJWK, role: .offline, status: .active, keyFile: Self.rootKeyFile, created: now,
                      activated: now, statements: []),
                .init(kid: online.kid, jwk: online.publicJWK, role: .online, status: .active, keyFile: Self.keyFile(online.kid), created: now,
                      activated: now, statements: [statement]),
            ])
            try directory.writeSecret(offline.exportPrivate(), to: Self.rootKeyFile)
            try directory.writeSecret(online.exportPrivate(), to: Self.keyFile(online.kid))
            try directory.writeJSON(offline.publicJWK, to: Self.publicKeyFile)
            try directory.writeJSON(roots, to: Self.rootsFile)
            try directory.writeJSON(catalog, to: Self.catalogFile)
            try directory.writeJSON(ClientProfile(catalog: catalog, roots: roots.trusted.map(\.jwk)), to: Self.profileFile)
            _ = try ledgerHandle.open { try openLedgerFile() }
            return (offline.publicJWK, catalog)
        }
    }

    static func keyFile(_ kid: String) -> String { "root-\(kid).jwk" }

    /// The offline root's public key, as hosts receive it with their host key.
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

    /// Rewrites the client profile from the catalog and the roots not retired (after the vendor edited either).
    public func writeClientProfile() throws -> ClientProfile {
        let profile = ClientProfile(catalog: try catalog(), roots: try roots().trusted.map(\.jwk))
        try directory.writeJSON(profile, to: Self.profileFile)
        return profile
    }

    /// The ledger database, opened on first use. A `ledger.json` of an earlier version is imported first.
    public func openLedger() throws -> VendorLedger {
        try ledgerHandle.open {
            guard directory.exists(Self.rootsFile) || directory.exists(Self.publicKeyFile) else {
                throw TallyError(.notInstalled, "\(directory.url.path) holds no vendor state",
                                 remedy: "Create it with `tally vendor init`, or give the vendor's --state-dir.")
            }
            return try directory.withLock { try openLedgerFile() }
        }
    }

    /// Opens `ledger.sqlite`, importing `ledger.json` when one is there. Called holding the directory lock.
    private func openLedgerFile() throws -> VendorLedger {
        try directory.create()
        let ledger = try VendorLedger(path: directory.file(Self.ledgerFile).path)
        if directory.exists(Self.legacyLedgerFile) {
            let json = try directory.readJSON(HostKeyLedger.self, from: Self.legacyLedgerFile)
            let kid = try publicKey().kid ?? ""
            _ = try ledger.importJSON(json, rootKID: kid, now: Date())
            let imported = directory.file(Self.legacyLedgerFile + ".imported")
            try? FileManager.default.removeItem(at: imported)
            do {
                try FileManager.default.moveItem(at: directory.file(Self.legacyLedgerFile), to: imported)
            } catch {
                throw TallyError(.stateUnreadable, "ledger.json was imported into \(Self.ledgerFile) but could not be renamed: \(error.localizedDescription)",
                                 remedy: "Rename \(directory.file(Self.legacyLedgerFile).path) to ledger.json.imported by hand.")
            }
        }
        return ledger
    }

    /// Every key with its hosts and key pairs.
    public func ledger() throws -> HostKeyLedger {
        try openLedger().snapshot()
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
        let key = ProductKey.generate(.host)
        try openLedger().add(key, group: group, maxHosts: maxHosts, maxActivationsPerHost: maxActivationsPerHost, now: now,
                             audit: VendorAuditRecord(time: now, kind: .issueKey, channel: .offline, keyId: key.keyID,
                                                      message: "host key issued for group \(group), \(maxHosts) hosts × \(maxActivationsPerHost) activations"))
        return key
    }

    public func blockHostKey(keyID: String, now: Date = Date()) throws {
        let audit = VendorAuditRecord(time: now, kind: .blockKey, channel: .offline, keyId: keyID, message: "host key blocked")
        guard try openLedger().block(keyID: keyID, audit: audit) else {
            throw TallyError(.usageError, "no host key with id \(keyID) in the ledger (ids look like hk-0123456789ab)")
        }
    }
}

/// Opens the ledger once for every copy of a ``VendorAuthority``.
private final class LedgerHandle: @unchecked Sendable {
    // @unchecked: `ledger` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var ledger: VendorLedger?

    func open(_ make: () throws -> VendorLedger) throws -> VendorLedger {
        lock.lock()
        defer { lock.unlock() }
        if let ledger { return ledger }
        let opened = try make()
        ledger = opened
        return opened
    }
}
