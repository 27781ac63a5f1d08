import Foundation
import TallyCore
import TallyFiles
import TallyStore
import TallyVendorLink

/// A host's exchanges with the vendor's online service: activation in one step, certificate renewal, sending
/// usage reports. Each is an async function of the vendor URL and the connection settings that returns a typed
/// result or throws a ``TallyError``, so a serving host's renewal service can call them as the CLI does.
///
/// The vendor URL is the one given, else the one the installed certificate carries (`vurl`, from the vendor's
/// catalog): after the first activation a host knows where to renew and report.
public struct HostOnline: Sendable {
    public let directory: StateDirectory
    public let settings: VendorConnectionSettings

    public init(directory: StateDirectory, settings: VendorConnectionSettings) {
        self.directory = directory
        self.settings = settings
    }

    var identity: HostIdentity { HostIdentity(directory: directory) }

    /// `given`, else the installed certificate's `vurl`.
    public func vendorURL(_ given: String?) throws -> VendorURL {
        if let given {
            guard let url = VendorURL(given) else {
                throw TallyError(.usageError, "'\(given)' is not a vendor URL: https://HOST[:PORT][/PATH] (http:// only for localhost)")
            }
            return url
        }
        guard let text = try identity.installedCertificateClaims()?.vurl, let url = VendorURL(text) else {
            throw TallyError(.noVendorURL, "the host's certificate names no vendor URL and none was given")
        }
        return url
    }

    /// What an activation or renewal gave.
    public struct CertificateResult: Sendable {
        public var certificate: HostCertificate
        /// `newHost`, `newKeyPair` or `renewal`, as the vendor counted it.
        public var unlock: String
        public var url: VendorURL
        /// Key ids of vendor roots this host learnt from the answer's statements.
        public var adoptedRoots: [String]
    }

    /// Activates the host in one step: the same request as the offline file, answered with a certificate.
    public func activate(url given: String?, now: Date = Date()) async throws -> CertificateResult {
        let url = try vendorURL(given)
        let request = try identity.activationRequest(now: now)
        let answer = try await VendorLink.activate(request: request, at: url, settings: settings)
        return try install(answer, url: url, now: now)
    }

    /// Renews the installed certificate (also an expired one) with a request signed by the host's key pair.
    /// Logs 12301 on success and 12302 with the code and remedy on failure into `events`, when given.
    public func renew(url given: String?, events: (any HostStore)? = nil, now: Date = Date()) async throws -> CertificateResult {
        do {
            let url = try vendorURL(given)
            let request = try identity.renewalRequest(now: now)
            let answer = try await VendorLink.renew(request: request, at: url, settings: settings)
            let result = try install(answer, url: url, now: now)
            try? await events?.append([Self.renewedEvent(result, now: now)])
            return result
        } catch let error as TallyError {
            try? await events?.append([Self.renewalFailedEvent(error, now: now)])
            throw error
        }
    }

    /// Event 12301: the new certificate's serial and end, and the vendor.
    public static func renewedEvent(_ result: CertificateResult, now: Date, fields extra: [String: String] = [:]) -> TallyEvent {
        TallyEvent(id: .certificateRenewed, time: now, result: .success, fields: [
            "serial": String(result.certificate.claims.serial), "expires": ISO8601DateFormatter().string(from: result.certificate.expires),
            "vendor": result.url.description,
        ].merging(extra) { first, _ in first })
    }

    /// Event 12302: the code, the reason and the remedy (and what the caller adds: the next attempt).
    public static func renewalFailedEvent(_ error: TallyError, now: Date, fields extra: [String: String] = [:]) -> TallyEvent {
        TallyEvent(id: .renewalFailed, time: now, result: error.code, fields: [
            "message": error.message, "remedy": error.remedy,
        ].merging(extra) { first, _ in first })
    }

    private func install(_ answer: VendorCertificateAnswer, url: VendorURL, now: Date) throws -> CertificateResult {
        let before = (try? identity.trustedRoots()).map { Set($0.keys.keys) } ?? []
        let certificate: HostCertificate
        do {
            certificate = try identity.installCertificate(answer.certificate, statements: answer.roots, now: now, skew: Intervals.clockSkewTolerance)
        } catch let error as TallyError where error.code == .tokenRejected {
            throw TallyError(.vendorAnswerInvalid, "the certificate from \(url) does not fit this host: \(error.message)")
        }
        let after = Set(try identity.trustedRoots().keys.keys)
        return CertificateResult(certificate: certificate, unlock: answer.unlock, url: url, adoptedRoots: after.subtracting(before).sorted())
    }

    /// One report the vendor acknowledged.
    public struct SentReport: Sendable {
        public var seq: Int
        public var from: String
        public var to: String
        public var receipt: ReportReceiptClaims
    }

    /// Sends every report the vendor has not acknowledged, oldest first; when none is waiting and `writeNext`
    /// is set, first signs the next one (the days since the last report up to yesterday). Keeps each receipt
    /// after checking it (signer, host, `seq`, hash) and logs 12303 into `store`. Stops at the first refusal.
    public func sendReports(url given: String?, store: any HostStore, writeNext: Bool = true, now: Date = Date()) async throws -> [SentReport] {
        let url = try vendorURL(given)
        let writer = UsageReportWriter(directory: directory)
        var pending = try await writer.unacknowledged(store: store)
        if pending.isEmpty, writeNext, let next = try await writer.writeNext(store: store, now: now) {
            pending = [(next.claims.seq, next.report)]
        }
        var sent: [SentReport] = []
        for (seq, report) in pending {
            let answer = try await VendorLink.submit(report: report, at: url, settings: settings)
            try identity.adoptRoots(answer.roots)
            let claims = try UsageReportWriter.claims(of: report)
            let receipt: ReportReceiptClaims
            do {
                receipt = try ReportReceipt.verify(answer.receipt, roots: identity.trustedRoots(), for: claims, reportHash: VerifiedUsageReport.hash(report))
            } catch let error as TokenError {
                throw TallyError(.receiptRejected, "the receipt from \(url) for report \(seq) was refused: \(error.detail)")
            }
            try await writer.keepReceipt(answer.receipt, seq: seq, store: store)
            try? await store.append([TallyEvent(id: .reportAcknowledged, time: now, result: .success, fields: [
                "seq": String(seq), "from": claims.from, "to": claims.to, "hash": receipt.rh, "vendor": url.description,
                "acknowledged": ISO8601DateFormatter().string(from: receipt.iat.date),
            ])])
            sent.append(SentReport(seq: seq, from: claims.from, to: claims.to, receipt: receipt))
        }
        return sent
    }
}
