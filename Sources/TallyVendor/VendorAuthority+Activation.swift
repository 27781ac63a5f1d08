import Foundation
import TallyCore
import TallyFiles

extension VendorAuthority {
    /// The outcome of activating or renewing a host.
    public struct Activation: Sendable {
        public var certificate: String
        public var claims: HostCertificateClaims
        public var unlock: HostKeyLedger.Unlock
        public var keyID: String
        /// The root that signed the certificate.
        public var signer: String
        /// Statements vouching for every trusted root, for the host to learn the signer from its offline root.
        public var statements: [String]

        /// What an offline answer file holds: the certificate, then one root statement per line.
        public var answerFile: String { ([certificate] + statements).joined(separator: "\n") + "\n" }
    }

    /// How long before its issue time a certificate is valid: clocks of hosts and vendor differ a little.
    public static let notBeforeMargin: TimeInterval = 300

    /// Which root signs an activation.
    public enum Signer: Sendable {
        /// The active offline root when its key is in the state directory, else the active online root: what
        /// `vendor activate-host` uses, so a vendor that keeps the offline root elsewhere still answers files.
        case offlineIfPresent
        /// The active online root: what `vendor serve` uses.
        case online
    }

    /// Checks a host's activation request (proof of possession, the key, the unlock limit) and issues its
    /// certificate with the group's SKUs expanded. Nothing but the audit row is written when it is refused.
    public func activateHost(request compact: String, now: Date = Date(), validity: TimeInterval = Intervals.certificateValidity,
                             origin: VendorRequestOrigin = .offline, signer: Signer = .offlineIfPresent) throws -> Activation {
        let ledger = try openLedger()
        var audit = VendorAuditRecord(time: now, kind: .activation, channel: origin.channel, address: origin.address, message: "")
        return try recording(&audit, in: ledger) { audit in
            let request: VerifiedHostActivationRequest
            do {
                request = try VerifiedHostActivationRequest.verify(compact.trimmingCharacters(in: .whitespacesAndNewlines))
            } catch let error as TokenError {
                throw error.tallyError("the host activation request")
            }
            audit.hostId = request.claims.hid
            let key = try ProductKey(request.claims.key)
            audit.keyId = key.keyID
            guard key.kind == .host else {
                throw TallyError(.keyDoesNotMatch, "the request carries a client setup key, not a host key",
                                 hint: "The host must install the secret host key the vendor issued (`tally host install-key`).")
            }
            guard CMID.validate(request.claims.hid) != nil else {
                throw TallyError(.malformedRequest, "the request's host id is not a UUID")
            }
            return try issue(ledger: ledger, hash: key.hash, hostID: request.claims.hid, hostKey: request.claims.cnf.jwk, renewalOnly: false,
                             now: now, validity: validity, signer: signer, audit: &audit)
        }
    }

    /// Renews a certificate online: the request is signed by the key pair the certificate certifies, and the
    /// ledger must know that key pair for the certificate's host key (renewing it is free). A blocked key is
    /// refused (C004C003), so a blocked key stops a host at its next renewal.
    public func renewHost(request compact: String, now: Date = Date(), validity: TimeInterval = Intervals.onlineCertificateValidity,
                          origin: VendorRequestOrigin) throws -> Activation {
        let ledger = try openLedger()
        var audit = VendorAuditRecord(time: now, kind: .renewal, channel: origin.channel, address: origin.address, message: "")
        return try recording(&audit, in: ledger) { audit in
            let request: VerifiedHostRenewalRequest
            do {
                request = try VerifiedHostRenewalRequest.verify(compact.trimmingCharacters(in: .whitespacesAndNewlines), roots: roots().trustedRoots())
            } catch let error as TokenError {
                throw error.tallyError("the renewal request")
            }
            let certificate = request.certificate
            audit.hostId = certificate.sub
            audit.keyId = try ledger.keyID(hash: certificate.hkh)
            return try issue(ledger: ledger, hash: certificate.hkh, hostID: certificate.sub, hostKey: certificate.cnf.jwk, renewalOnly: true,
                             now: now, validity: validity, signer: .online, audit: &audit)
        }
    }

    /// The unlock and the certificate, in the ledger's transaction.
    private func issue(ledger: VendorLedger, hash: String, hostID: String, hostKey: JWK, renewalOnly: Bool, now: Date, validity: TimeInterval,
                       signer: Signer, audit: inout VendorAuditRecord) throws -> Activation {
        let catalog = try catalog()
        let roots = try roots()
        let root: SigningKey
        switch signer {
        case .online:
            root = try activeSigner(.online)
        case .offlineIfPresent:
            if let offline = roots.active(.offline), directory.exists(offline.keyFile) {
                root = try signingKey(offline)
            } else {
                root = try activeSigner(.online)
            }
        }
        let vendorURL = catalog.vendor.url
        var row = audit
        row.message = "certificate issued"
        let (entry, unlock, issued) = try ledger.unlock(hash: hash, hostID: hostID, thumbprint: hostKey.thumbprint, renewalOnly: renewalOnly,
                                                        now: now, audit: row) { entry, unlock, serial in
            let skus = catalog.expand(group: entry.group)
            var claims = HostCertificateClaims(iss: catalog.vendor.id, sub: hostID, hostKey: hostKey, hkh: hash, grp: entry.group, skus: skus,
                                               thr: catalog.thresholds(for: skus), serial: serial, issuedAt: now, validity: validity,
                                               vendorURL: vendorURL)
            // Valid from a little before now, so a host whose clock is a few minutes behind the vendor's can use it at once.
            claims.nbf = NumericDate(now.addingTimeInterval(-Self.notBeforeMargin))
            return VendorLedger.Issued(compact: try HostCertificate.issue(claims, root: root), claims: claims, kid: root.kid)
        }
        audit.keyId = entry.keyID
        audit.serial = issued.claims.serial
        return Activation(certificate: issued.compact, claims: issued.claims, unlock: unlock, keyID: entry.keyID, signer: issued.kid,
                          statements: roots.statements)
    }

    /// Runs `body`; a refusal is recorded as an audit row (with what `body` learnt of the request) and rethrown.
    func recording<T>(_ audit: inout VendorAuditRecord, in ledger: VendorLedger, _ body: (inout VendorAuditRecord) throws -> T) throws -> T {
        do {
            return try body(&audit)
        } catch let error as TallyError {
            try? ledger.record(audit.refused(error))
            throw error
        } catch let error as TokenError {
            let refusal = error.tallyError("the request")
            try? ledger.record(audit.refused(refusal))
            throw refusal
        }
    }
}
