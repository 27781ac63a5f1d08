import Foundation
import TallyCore
import TallyFiles

extension HostIdentity {
    /// Installs `compact` after adopting the roots `statements` vouch for (a chain from a root this host already
    /// trusts; the others are ignored). The certificate is verified against the roots as they would be after the
    /// adoption, with `skew` of tolerance for its start (the vendor's clock may be ahead); only when it fits are
    /// the roots and the certificate written.
    public func installCertificate(_ compact: String, statements: [String], now: Date = Date(), skew: TimeInterval = 0) throws -> HostCertificate {
        let adoption = RootStatement.adopt(statements, into: try directory.readJSON([JWK].self, from: Self.rootsFile))
        let roots: TrustedRoots
        do {
            roots = try TrustedRoots(adoption.roots)
        } catch {
            throw error.tallyError("the vendor roots")
        }
        let certificate: HostCertificate
        do {
            certificate = try HostCertificate.verify(compact, roots: roots, now: now, skew: skew)
        } catch {
            throw error.tallyError("the host certificate")
        }
        let info = try info()
        guard certificate.claims.sub == info.hostID else {
            throw TallyError(.tokenRejected, "the certificate is for host \(certificate.claims.sub), this host is \(info.hostID)")
        }
        guard certificate.claims.cnf.jwk.x == (try signingKey()).publicJWK.x else {
            throw TallyError(.tokenRejected, "the certificate is for another key pair of this host",
                             remedy: "Make a new request with `tally host activate --offline-request FILE` and have the vendor answer it.")
        }
        guard certificate.claims.hkh == (try hostKey()).hash else {
            throw TallyError(.tokenRejected, "the certificate was issued for another host key")
        }
        try directory.withLock {
            if !adoption.adopted.isEmpty { try directory.writeJSON(adoption.roots, to: Self.rootsFile) }
            try directory.write(Data(compact.utf8), to: Self.certificateFile)
        }
        return certificate
    }

    /// Adopts the roots `statements` vouch for; returns those newly trusted.
    @discardableResult
    public func adoptRoots(_ statements: [String]) throws -> [JWK] {
        try directory.withLock {
            let adoption = RootStatement.adopt(statements, into: try directory.readJSON([JWK].self, from: Self.rootsFile))
            if !adoption.adopted.isEmpty { try directory.writeJSON(adoption.roots, to: Self.rootsFile) }
            return adoption.adopted
        }
    }

    /// The installed certificate's claims after checking only its signature: an expired certificate still names
    /// its vendor URL and can be renewed.
    public func installedCertificateClaims() throws -> HostCertificateClaims? {
        guard directory.exists(Self.certificateFile) else { return nil }
        let compact = String(decoding: try directory.read(Self.certificateFile), as: UTF8.self)
        do {
            return try HostCertificate.verifySignature(compact, roots: trustedRoots()).claims
        } catch let error as TokenError {
            throw error.tallyError("the installed host certificate")
        }
    }

    /// A renewal request for the installed certificate, signed by this host's key pair (no host key in it).
    public func renewalRequest(now: Date = Date()) throws -> String {
        let info = try info()
        guard directory.exists(Self.certificateFile) else {
            throw TallyError(.hostNotActivated, "there is no certificate to renew", remedy: "Activate the host: `tally host activate --online URL`.")
        }
        _ = try installedCertificateClaims()
        let compact = String(decoding: try directory.read(Self.certificateFile), as: UTF8.self)
        let nonce = Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
        return try VerifiedHostRenewalRequest.issue(HostRenewalRequestClaims(hostId: info.hostID, nonce: nonce, issuedAt: now),
                                                    hostKey: signingKey().privateKey, certificate: compact)
    }
}
