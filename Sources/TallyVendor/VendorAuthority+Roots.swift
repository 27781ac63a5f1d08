import Foundation
import TallyCore
import TallyFiles

extension VendorAuthority {
    /// The vendor's roots. A state directory of an earlier version (only `vendor-root.jwk`) gets a `roots.json`
    /// with that root as its active offline root, and no online root until `rotate-root` makes one.
    public func roots() throws -> VendorRoots {
        if directory.exists(Self.rootsFile) { return try directory.readJSON(VendorRoots.self, from: Self.rootsFile) }
        return try directory.withLock {
            if directory.exists(Self.rootsFile) { return try directory.readJSON(VendorRoots.self, from: Self.rootsFile) }
            let jwk = try publicKey()
            guard let kid = jwk.kid else { throw TallyError(.stateUnreadable, "\(Self.publicKeyFile) has no kid") }
            let roots = VendorRoots(roots: [.init(kid: kid, jwk: jwk, role: .offline, status: .active, keyFile: Self.rootKeyFile,
                                                  created: Date(), activated: Date(), statements: [])])
            try directory.writeJSON(roots, to: Self.rootsFile)
            return roots
        }
    }

    /// The private key of `root`, checked against its public key.
    public func signingKey(_ root: VendorRoots.Root) throws -> SigningKey {
        guard directory.exists(root.keyFile) else {
            throw TallyError(.notInstalled, "the private key of the \(root.role.rawValue) root \(root.kid) is not in \(directory.url.path) (\(root.keyFile))",
                             remedy: root.role == .offline
                                 ? "The offline root is kept off this machine: run this where its key is, or pass --offline-key FILE."
                                 : "Copy \(root.keyFile) (mode 0600) from where `tally vendor rotate-root` made it.")
        }
        let key = try SigningKey.importPrivate(directory.readSecret(root.keyFile))
        guard key.kid == root.kid, key.publicJWK.x == root.jwk.x else {
            throw TallyError(.stateUnreadable, "\(root.keyFile) does not hold the private key of root \(root.kid)")
        }
        return key
    }

    /// The active root of `role` and its private key.
    public func activeSigner(_ role: VendorRoots.Role) throws -> SigningKey {
        guard let root = try roots().active(role) else {
            throw TallyError(.rootUnknown, "this vendor has no active \(role.rawValue) root",
                             remedy: "Make one with `tally vendor rotate-root\(role == .offline ? " --offline" : "")` where the offline root's key is.")
        }
        return try signingKey(root)
    }

    /// The active offline root's private key.
    public func rootKey() throws -> SigningKey { try activeSigner(.offline) }

    /// Makes a new root of `role`, vouched for by the active offline root (its key from `offlineKeyFile`, else
    /// from the state directory). It is active at once when its role has no active root; otherwise it waits as a
    /// standby, listed in the client profile, until `use-root`. A new offline root also vouches for every root
    /// trusted now, so a host that learns only the new one still reaches them.
    public func rotateRoot(role: VendorRoots.Role, offlineKeyFile: String? = nil, now: Date = Date()) throws -> VendorRoots.Root {
        let vendorID = try catalog().vendor.id
        let root: VendorRoots.Root = try directory.withLock {
            var roots = try directory.readJSON(VendorRoots.self, from: Self.rootsFile)
            guard let anchor = roots.active(.offline) else { throw TallyError(.rootUnknown, "this vendor has no active offline root") }
            let signer: SigningKey
            if let offlineKeyFile {
                do {
                    signer = try SigningKey.importPrivate(Data(contentsOf: URL(fileURLWithPath: offlineKeyFile)))
                } catch let error as TallyError {
                    throw error
                } catch {
                    throw TallyError(.stateUnreadable, "could not read \(offlineKeyFile): \(error.localizedDescription)")
                }
                guard signer.kid == anchor.kid, signer.publicJWK.x == anchor.jwk.x else {
                    throw TallyError(.usageError, "\(offlineKeyFile) is not the key of the active offline root \(anchor.kid)")
                }
            } else {
                signer = try signingKey(anchor)
            }
            let key = SigningKey.generate(kidPrefix: role == .offline ? "vendor-" : "online-")
            let statements = [try RootStatement.issue(RootStatementClaims(vendor: vendorID, root: key.publicJWK, issuedAt: now), signer: signer)]
            if role == .offline {
                for index in roots.roots.indices where roots.roots[index].status != .retired {
                    let vouched = try RootStatement.issue(RootStatementClaims(vendor: vendorID, root: roots.roots[index].jwk, issuedAt: now), signer: key)
                    roots.roots[index].statements.append(vouched)
                }
            }
            let first = roots.active(role) == nil
            let root = VendorRoots.Root(kid: key.kid, jwk: key.publicJWK, role: role, status: first ? .active : .standby,
                                        keyFile: Self.keyFile(key.kid), created: now, activated: first ? now : nil, statements: statements)
            try directory.writeSecret(key.exportPrivate(), to: root.keyFile)
            roots.roots.append(root)
            try directory.writeJSON(roots, to: Self.rootsFile)
            return root
        }
        _ = try writeClientProfile()
        return root
    }

    /// Makes `kid` the active root of its role: from now on it signs what its role signs. A new offline root also
    /// becomes the public key handed to new hosts (`vendor-public.jwk`).
    public func useRoot(_ kid: String, now: Date = Date()) throws -> VendorRoots.Root {
        try directory.withLock {
            var roots = try directory.readJSON(VendorRoots.self, from: Self.rootsFile)
            let root = try roots.use(kid, now: now)
            try directory.writeJSON(roots, to: Self.rootsFile)
            if root.role == .offline { try directory.writeJSON(root.jwk, to: Self.publicKeyFile) }
            return root
        }
    }

    /// Retires `kid`: it leaves the client profile and verifies nothing new. Refused while it is active or while a
    /// certificate it signed has not expired.
    public func retireRoot(_ kid: String, now: Date = Date()) throws -> VendorRoots.Root {
        let (unexpired, lastExpiry) = try openLedger().unexpiredCertificates(kid: kid, now: now)
        let root: VendorRoots.Root = try directory.withLock {
            var roots = try directory.readJSON(VendorRoots.self, from: Self.rootsFile)
            let root = try roots.retire(kid, unexpired: unexpired, lastExpiry: lastExpiry, now: now)
            try directory.writeJSON(roots, to: Self.rootsFile)
            return root
        }
        _ = try writeClientProfile()
        return root
    }

    /// A root with the certificates it signed that are still valid, for `tally vendor roots`.
    public struct RootInfo: Codable, Sendable {
        public var root: VendorRoots.Root
        public var privateKeyHere: Bool
        public var unexpiredCertificates: Int
        public var lastExpiry: Date?
    }

    public func rootInfo(now: Date = Date()) throws -> [RootInfo] {
        let ledger = try openLedger()
        return try roots().roots.map { root in
            let (count, last) = try ledger.unexpiredCertificates(kid: root.kid, now: now)
            return RootInfo(root: root, privateKeyHere: directory.exists(root.keyFile), unexpiredCertificates: count, lastExpiry: last)
        }
    }
}
