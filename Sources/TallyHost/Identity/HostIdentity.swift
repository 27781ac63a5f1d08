import Foundation
import TallyCore
import TallyFiles

/// The host's identity and its activation by the vendor: host key, host id, key pair, vendor roots and
/// certificate, each a file in the host's state directory.
///
/// Files: `host.json` (host id, key id), `host-key` (the secret host key, 0600), `host-private.jwk` (0600),
/// `vendor-roots.json` (the vendor's public keys), `certificate.jwt`.
public struct HostIdentity: Sendable {
    public let directory: StateDirectory

    static let infoFile = "host.json"
    static let hostKeyFile = "host-key"
    static let privateKeyFile = "host-private.jwk"
    static let rootsFile = "vendor-roots.json"
    static let certificateFile = "certificate.jwt"

    public struct Info: Codable, Sendable, Equatable {
        public var hostID: String
        public var keyID: String
        public var installedAt: Date
    }

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    /// Installs a host key. The first install makes the host id and key pair; a later one keeps them unless
    /// `newIdentity` is set. A client setup key is refused with a hint.
    public func installKey(_ text: String, vendorRoots: [JWK]?, newIdentity: Bool = false, now: Date = Date()) throws -> Info {
        let key = try ProductKey(text)
        guard key.kind == .host else {
            throw TallyError(.keyDoesNotMatch, "\(key) is a client setup key; a host needs a host key",
                             hint: "Client setup keys are public and go on client machines (`tally client ipk`). A host needs the secret host key the vendor issued for your licence.")
        }
        return try directory.withLock { () throws -> Info in
            try install(key, vendorRoots: vendorRoots, newIdentity: newIdentity, now: now)
        }
    }

    private func install(_ key: ProductKey, vendorRoots: [JWK]?, newIdentity: Bool, now: Date) throws -> Info {
        let existing = try? directory.readJSON(Info.self, from: Self.infoFile)
        if let vendorRoots {
            _ = try TrustedRoots(vendorRoots)
            try directory.writeJSON(vendorRoots, to: Self.rootsFile)
        } else if !directory.exists(Self.rootsFile) {
            throw TallyError(.usageError, "the vendor's public key is needed the first time",
                             remedy: "Pass --vendor-jwk FILE with the vendor-public.jwk file the vendor sent with the key.")
        }
        let info = Info(hostID: existing?.hostID ?? CMID.generate(), keyID: key.keyID, installedAt: now)
        if newIdentity || existing == nil || !directory.exists(Self.privateKeyFile) {
            let pair = SigningKey.generate(kidPrefix: "host-")
            try directory.writeSecret(pair.exportPrivate(), to: Self.privateKeyFile)
        }
        if (existing?.keyID != key.keyID || newIdentity), directory.exists(Self.certificateFile) {
            // A certificate for another key or key pair no longer fits this host.
            try? FileManager.default.removeItem(at: directory.file(Self.certificateFile))
        }
        try directory.writeSecret(Data(key.normalized.utf8), to: Self.hostKeyFile)
        try directory.writeJSON(info, to: Self.infoFile)
        return info
    }

    public func info() throws -> Info {
        guard directory.exists(Self.infoFile) else {
            throw TallyError(.notInstalled, "no host key is installed in \(directory.url.path)",
                             remedy: "Install the host key the vendor issued: `tally host install-key KEY --vendor-jwk FILE`.")
        }
        return try directory.readJSON(Info.self, from: Self.infoFile)
    }

    public func signingKey() throws -> SigningKey {
        try SigningKey.importPrivate(directory.readSecret(Self.privateKeyFile))
    }

    /// Refuses to go on when the host key or the private key may be read by others (`serve`, as `activate`).
    public func requirePrivateFiles() throws(TallyError) {
        try directory.requirePrivate(Self.hostKeyFile)
        try directory.requirePrivate(Self.privateKeyFile)
    }

    public func hostKey() throws -> ProductKey {
        try ProductKey(String(decoding: directory.readSecret(Self.hostKeyFile), as: UTF8.self))
    }

    public func trustedRoots() throws -> TrustedRoots {
        do {
            return try TrustedRoots(directory.readJSON([JWK].self, from: Self.rootsFile))
        } catch let error as TokenError {
            throw error.tallyError("the vendor roots file")
        }
    }

    /// The signed request for the vendor (an offline file, or an online body): proof that this host holds its key.
    public func activationRequest(now: Date = Date()) throws -> String {
        let info = try info()
        let pair = try signingKey()
        let nonce = Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
        let claims = HostActivationRequestClaims(hostId: info.hostID, hostKey: pair.publicJWK, productKey: try hostKey().description,
                                                 nonce: nonce, issuedAt: now)
        return try VerifiedHostActivationRequest.issue(claims, hostKey: pair.privateKey)
    }

    /// Verifies a certificate from the vendor against this host (vendor root, host id, key pair, host key) and
    /// installs it. `text` is the vendor's answer file: the certificate, and any root statements one per line,
    /// through which this host learns roots vouched for by one it trusts. A certificate that does not fit
    /// changes nothing.
    public func installCertificate(_ text: String, now: Date = Date()) throws -> HostCertificate {
        let tokens = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let statements = tokens.filter { (try? JWS.parse($0, expecting: .rootStatement)) != nil }
        let certificates = tokens.filter { !statements.contains($0) }
        guard certificates.count == 1 else {
            throw TallyError(.tokenRejected, "the certificate file holds \(certificates.count) certificates, not one")
        }
        return try installCertificate(certificates[0], statements: statements, now: now)
    }

    /// The installed certificate, verified at `now`; `nil` when none is installed. An expired or broken one
    /// is reported as an error.
    public func certificate(now: Date = Date()) throws -> HostCertificate? {
        guard directory.exists(Self.certificateFile) else { return nil }
        let compact = String(decoding: try directory.read(Self.certificateFile), as: UTF8.self)
        do {
            return try HostCertificate.verify(compact, roots: trustedRoots(), now: now)
        } catch let error as TokenError {
            throw error.tallyError("the installed host certificate")
        }
    }
}
