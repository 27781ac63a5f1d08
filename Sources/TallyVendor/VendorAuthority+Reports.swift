import Foundation
import TallyCore

extension VendorAuthority {
    /// A usage report the vendor acknowledged.
    public struct Acknowledgement: Sendable {
        public var receipt: String
        public var claims: ReportReceiptClaims
        /// The same report had been acknowledged before: this is the receipt given then.
        public var repeated: Bool
        public var statements: [String]
    }

    /// Checks a usage report sent online as `verify-report` checks a file (signature, certificate, contents),
    /// then against the chain the vendor acknowledged for its host (``ReportChainRule``), and answers with a
    /// receipt signed by the online root. A rewritten history or a broken chain is refused (0xC0A70025 /
    /// 0xC0A70026) and flagged in the ledger.
    public func acknowledgeReport(_ compact: String, now: Date = Date(), origin: VendorRequestOrigin) throws -> Acknowledgement {
        let ledger = try openLedger()
        let text = compact.trimmingCharacters(in: .whitespacesAndNewlines)
        var audit = VendorAuditRecord(time: now, kind: .report, channel: origin.channel, address: origin.address, message: "report acknowledged")
        let (report, signer, statements) = try recording(&audit, in: ledger) { audit in
            let roots = try roots()
            let trusted = try roots.trustedRoots()
            // The days a report may cover start at the host's first certification, not at its current certificate's
            // start: the first report after a renewal covers days of the certificate before.
            let checked = UsageReportAudit.audit([(name: "report", text: text)], roots: trusted, firstCertified: try ledger.snapshot().firstCertification)
            if let refused = checked.refused.first {
                throw TallyError(.tokenRejected, "the usage report was refused: \(refused.reason)")
            }
            if !checked.findings.isEmpty {
                throw TallyError(.malformedRequest, "the usage report was refused: " + checked.findings.map(\.message).joined(separator: "; "))
            }
            let verified: VerifiedUsageReport
            do {
                verified = try VerifiedUsageReport.verify(text, roots: trusted)
            } catch let error as TokenError {
                throw error.tallyError("the usage report")
            }
            audit.hostId = verified.claims.iss
            audit.reportSeq = verified.claims.seq
            guard verified.claims.seq >= 1 else { throw TallyError(.malformedRequest, "a report's seq starts at 1, this one is \(verified.claims.seq)") }
            return (VendorLedger.AcknowledgedReport(report: verified, receivedAt: now), try activeSigner(.online), roots.statements)
        }
        let claims = ReportReceiptClaims(vendor: try catalog().vendor.id, hostID: report.hostId, seq: report.seq,
                                         reportHash: report.hash, acknowledgedAt: now)
        let (receipt, repeated) = try ledger.acknowledge(report, audit: audit) { try ReportReceipt.issue(claims, signer: signer) }
        let answered = repeated ? (try? JWS.parse(receipt, expecting: .receipt).decodePayload(ReportReceiptClaims.self)) ?? claims : claims
        return Acknowledgement(receipt: receipt, claims: answered, repeated: repeated, statements: statements)
    }

    /// Per licensee host: the latest acknowledged report, its machines per SKU and class, gaps and flags.
    public func reportSummaries() throws -> [HostReportSummary] {
        let ledger = try openLedger()
        let keys = Dictionary(try ledger.snapshot().entries.map { ($0.hash, $0.keyID) }, uniquingKeysWith: { first, _ in first })
        return HostReportSummary.summarise(try ledger.acknowledgedReports(), flags: try ledger.reportFlags(), keyID: { keys[$0] })
    }

    /// The audit rows from `since` on.
    public func audit(since: Date? = nil) throws -> [VendorAuditRecord] {
        try openLedger().audit(since: since)
    }
}
