import Foundation
import TallyCore

/// The vendor's check of usage reports (`tally vendor verify-report FILE...`): each report's signature and
/// certificate against the vendor's own root keys, then each host's chain by `seq` and `prv`, then totals.
///
/// What it flags: a report that does not verify, or says what no honest host writes (days in the future, SKUs
/// outside its certificate, impossible counts: `UsageReportAudit+Plausibility.swift`); a gap in a host's `seq`; a report whose `prv` is not the hash of
/// the report before it (edited, or from another copy of the host); two different reports with one `seq`; and
/// one host id in reports signed by different host key pairs (the host's state was copied to another machine
/// and activated there, or the host id was reused).
public struct UsageReportAudit: Codable, Sendable {
    public struct Report: Codable, Sendable, Equatable {
        public var file: String
        /// The host that signed it (`iss`).
        public var hostId: String
        /// The chain it belongs to: the host id, or `site:ID` for the report of a site whose hosts share a store.
        public var chain: String
        public var seq: Int
        public var from: String
        public var to: String
        public var certificateSerial: Int
        /// The host public key (`cnf.jwk.x`) that signed it.
        public var hostKey: String
        public var hash: String
    }

    public struct Refused: Codable, Sendable, Equatable {
        public var file: String
        public var reason: String
    }

    public struct Finding: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case gap, brokenChain, duplicateSeq, severalKeyPairs }
        public var kind: Kind
        /// The host, or the chain (`site:ID`) for a site's chain findings.
        public var hostId: String
        public var message: String
    }

    /// Per SKU and class over all verified reports: the largest daily count and the sum of daily counts.
    public struct Total: Codable, Sendable, Equatable {
        public var sku: String
        public var productClass: String
        public var peakMachines: Int
        public var machineDays: Int
        public var days: Int

        public init(sku: String, productClass: String, peakMachines: Int, machineDays: Int, days: Int) {
            self.sku = sku
            self.productClass = productClass
            self.peakMachines = peakMachines
            self.machineDays = machineDays
            self.days = days
        }
    }

    public var reports: [Report] = []
    public var refused: [Refused] = []
    public var findings: [Finding] = []
    public var totals: [Total] = []
    public var newMachines: [NewMachines] = []

    public var clean: Bool { refused.isEmpty && findings.isEmpty }

    /// Audits `files` (name and content) against `roots`. A report that verifies but says what cannot be true is
    /// refused too (see ``implausibility(of:certificate:firstCertified:)``); `firstCertified` gives, per host id,
    /// when the vendor first certified it (``HostKeyLedger/firstCertification``).
    public static func audit(_ files: [(name: String, text: String)], roots: TrustedRoots,
                             firstCertified: [String: Date] = [:]) -> UsageReportAudit {
        var audit = UsageReportAudit()
        var verified: [(Report, UsageReportClaims)] = []
        for (name, text) in files {
            let compact = text.trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                let report = try VerifiedUsageReport.verify(compact, roots: roots)
                // A site's report covers machines any of its hosts counted: the earliest of them bounds its days.
                let hosts = report.claims.site == nil ? [report.claims.iss] : (report.claims.hosts ?? []) + [report.claims.iss]
                if let reason = report.claims.site != nil && !(report.claims.hosts ?? []).contains(report.claims.iss)
                    ? "it is a report of site \(report.claims.site ?? "") that does not list the host that signed it (\(report.claims.iss)) among the site's hosts"
                    : implausibility(of: report.claims, certificate: report.certificate.claims,
                                     firstCertified: hosts.compactMap { firstCertified[$0] }.min()) {
                    audit.refused.append(Refused(file: name, reason: "implausible: " + reason))
                    continue
                }
                let entry = Report(file: name, hostId: report.claims.iss, chain: report.claims.chain, seq: report.claims.seq, from: report.claims.from, to: report.claims.to,
                                   certificateSerial: report.certificate.claims.serial, hostKey: report.certificate.claims.cnf.jwk.x,
                                   hash: VerifiedUsageReport.hash(compact))
                verified.append((entry, report.claims))
            } catch {
                audit.refused.append(Refused(file: name, reason: error.description))
            }
        }
        audit.reports = verified.map(\.0).sorted { ($0.chain, $0.seq, $0.file) < ($1.chain, $1.seq, $1.file) }
        audit.findings = chainFindings(verified)
        audit.totals = totals(verified.map(\.1))
        audit.newMachines = newMachines(verified.map(\.1))
        return audit
    }

    static func chainFindings(_ verified: [(Report, UsageReportClaims)]) -> [Finding] {
        var findings: [Finding] = []
        // Key pairs per signing host; the chain per host, or per site for the hosts that share a store.
        for (hostId, entries) in Dictionary(grouping: verified, by: { $0.0.hostId }).sorted(by: { $0.key < $1.key }) {
            let keys = Set(entries.map(\.0.hostKey))
            if keys.count > 1 {
                findings.append(Finding(kind: .severalKeyPairs, hostId: hostId,
                                        message: "host \(hostId) signed reports with \(keys.count) different key pairs (files: "
                                            + entries.map(\.0.file).sorted().joined(separator: ", ") + "): its state was copied or re-keyed; ask which machine is the host"))
            }
        }
        for (chain, entries) in Dictionary(grouping: verified, by: { $0.0.chain }).sorted(by: { $0.key < $1.key }) {
            let hostId = chain
            let owner = Self.chainName(chain)
            let bySeq = Dictionary(grouping: entries, by: { $0.0.seq })
            for (seq, same) in bySeq.sorted(by: { $0.key < $1.key }) where Set(same.map(\.0.hash)).count > 1 {
                findings.append(Finding(kind: .duplicateSeq, hostId: hostId,
                                        message: "\(owner) has \(same.count) different reports numbered \(seq) ("
                                            + same.map(\.0.file).sorted().joined(separator: ", ") + "): two copies of the host, or a restored backup"))
            }
            let ordered = bySeq.keys.sorted()
            for (previous, next) in zip(ordered, ordered.dropFirst()) {
                if next != previous + 1 {
                    findings.append(Finding(kind: .gap, hostId: hostId,
                                            message: "\(owner): report(s) \(previous + 1)…\(next - 1) are missing between seq \(previous) and \(next)"))
                    continue
                }
                let hashes = Set(bySeq[previous]!.map(\.0.hash))
                for (report, claims) in bySeq[next]! where !hashes.contains(claims.prv) {
                    findings.append(Finding(kind: .brokenChain, hostId: hostId,
                                            message: "\(owner): report seq \(next) (\(report.file)) does not follow report seq \(previous): its prv is not that report's hash"))
                }
            }
        }
        return findings
    }

    /// "host ID", or "site ID" for a site's chain (`site:ID`).
    static func chainName(_ chain: String) -> String {
        chain.hasPrefix("site:") ? "site " + chain.dropFirst(5) : "host " + chain
    }

    static func totals(_ claims: [UsageReportClaims]) -> [Total] {
        // A day reported twice (overlapping periods) counts once, with its largest figure.
        var perDay: [String: [String: Int]] = [:]
        var classes: [String: (String, String)] = [:]
        for report in claims {
            for usage in report.usage {
                let key = report.chain + "\u{0}" + usage.sku + "\u{0}" + usage.class
                classes[key] = (usage.sku, usage.class)
                perDay[key, default: [:]][usage.day] = max(perDay[key]?[usage.day] ?? 0, usage.machines)
            }
        }
        var merged: [String: Total] = [:]
        for (key, days) in perDay {
            let (sku, productClass) = classes[key]!
            let name = sku + "\u{0}" + productClass
            var total = merged[name] ?? Total(sku: sku, productClass: productClass, peakMachines: 0, machineDays: 0, days: 0)
            total.peakMachines = max(total.peakMachines, days.values.max() ?? 0)
            total.machineDays += days.values.reduce(0, +)
            total.days = max(total.days, days.count)
            merged[name] = total
        }
        return merged.values.sorted { ($0.sku, $0.productClass) < ($1.sku, $1.productClass) }
    }
}
