import Foundation
import TallyCore
import TallyFiles
import TallyStore

/// Writes host-signed usage reports: distinct machines per SKU and class per day, from the sightings the host
/// keeps. Reports are chained: `seq` counts up and `prv` is the SHA-256 of the previous report, both kept in
/// `report-chain.json` in the host's state directory, so the vendor sees a missing or edited report.
public struct UsageReportWriter: Sendable {
    /// The chain's state: the last report's number and hash.
    public struct Chain: Codable, Sendable, Equatable {
        public var seq: Int
        public var hash: String
        public var to: String?

        public init(seq: Int, hash: String, to: String?) {
            self.seq = seq
            self.hash = hash
            self.to = to
        }
    }

    public static let chainFile = "report-chain.json"
    /// Every report written, `SEQ.jwt`: what `tally host report --send` sends until the vendor acknowledges it.
    public static let reportsFolder = "reports"
    /// The vendor's receipts, `SEQ.jwt`.
    public static let receiptsFolder = "receipts"

    public let directory: StateDirectory

    public init(directory: StateDirectory) {
        self.directory = directory
    }

    public func chain() throws -> Chain {
        directory.exists(Self.chainFile) ? try directory.readJSON(Chain.self, from: Self.chainFile) : Chain(seq: 0, hash: "", to: nil)
    }

    /// Signs the report for days `from...to` (`YYYY-MM-DD`, UTC) with the host key, writes it to `output`, and
    /// advances the chain. The host needs a valid certificate: the report carries it.
    public func write(from: String, to: String, output: URL, store: any HostStore, now: Date = Date()) async throws -> UsageReportClaims {
        let first = try UsageReportWriter.day(from, name: "--from"), last = try UsageReportWriter.day(to, name: "--to")
        guard first <= last else { throw TallyError(.usageError, "--from \(from) is after --to \(to)") }
        guard let (claims, compact) = try await sign(first: first, last: last, store: store, now: now) else {
            throw TallyError(.usageError, "nothing to report from \(from) to \(to)")
        }
        try AtomicFile.write(Data((compact + "\n").utf8), to: output, mode: 0o644)
        return claims
    }

    /// Signs the report for days `first...last` and advances the chain; a copy is kept in `reports/SEQ.jwt` so
    /// it can be sent to the vendor (again, until acknowledged).
    ///
    /// - Parameter continuing: the report continues the chain: with a site's chain, where another host may have
    ///   reported since `first` was chosen, it starts after the chain's last day (`nil` when nothing is left),
    ///   decided under the chain's lock.
    func sign(first: Int, last: Int, store: any HostStore, now: Date, continuing: Bool = false) async throws -> (UsageReportClaims, String)? {
        let identity = HostIdentity(directory: directory)
        guard let certificate = try identity.certificate(now: now) else {
            throw TallyError(.hostNotActivated, "the host holds no certificate to sign a report with",
                             remedy: "Activate the host first: `tally host activate`.")
        }
        let key = try identity.signingKey()
        let retention = ((try? HostSettings.load(from: directory)) ?? HostSettings()).reportRetentionDays
        let oldest = EventRetention.firstReportDay(now: now, days: retention)
        guard first >= oldest else {
            throw TallyError(.reportBeyondRetention,
                             "the report would start on \(UsageReportWriter.text(day: first)), but this host keeps clients and sightings for \(retention) days (report-retention-days): the oldest day it can report is \(UsageReportWriter.text(day: oldest))",
                             remedy: "Report from \(UsageReportWriter.text(day: oldest)) on; reports written earlier keep the older days. To keep more from now on: `tally host set report-retention-days N`.")
        }
        let usage = try await store.usage(fromDay: first, toDay: last).map {
            UsageReportClaims.DayUsage(day: UsageReportWriter.text(day: $0.day), sku: $0.sku, class: $0.productClass, machines: $0.machines)
        }
        let newMachines = try await store.newMachines(fromDay: first, toDay: last, busiest: NewMachinesDay.busiestBlocks).map {
            NewMachinesDay(day: UsageReportWriter.text(day: $0.day), machines: $0.machines, addresses: $0.addresses,
                           busiest: $0.busiest.reduce(0) { $0 + $1.machines })
        }
        let iss = certificate.claims.sub
        // The claims of report `seq` after `prv`, from day `from` on (the chain's lock may move the start).
        let claims = { @Sendable (seq: Int, prv: String, from: Int, site: String?, hosts: [String]?) -> UsageReportClaims in
            let from = UsageReportWriter.text(day: from)
            return UsageReportClaims(iss: iss, from: from, to: UsageReportWriter.text(day: last), usage: usage.filter { $0.day >= from }, seq: seq,
                                     prv: prv, iat: now, new: newMachines.filter { $0.day >= from }, site: site, hosts: hosts)
        }
        if let site = store.siteReportChain {
            // A site's chain is in the store it shares: one host at a time extends it.
            let made = try await site.append { end in
                var from = first
                if continuing, let to = end.to { from = max(first, try Self.day(to) + 1) }
                guard from <= last else { return nil }
                let compact = try VerifiedUsageReport.issue(claims(end.seq + 1, end.hash, from, end.site, end.hosts),
                                                            hostKey: key.privateKey, certificate: certificate)
                return SiteReport(seq: end.seq + 1, report: compact, hash: VerifiedUsageReport.hash(compact),
                                  to: UsageReportWriter.text(day: last), host: iss)
            }
            guard let made else { return nil }
            return (try Self.claims(of: made.report), made.report)
        }
        return try directory.withLock {
            let previous = try chain()
            let claims = claims(previous.seq + 1, previous.hash, first, nil, nil)
            let compact = try VerifiedUsageReport.issue(claims, hostKey: key.privateKey, certificate: certificate)
            try keep(compact, seq: claims.seq, in: Self.reportsFolder)
            try directory.writeJSON(Chain(seq: claims.seq, hash: VerifiedUsageReport.hash(compact), to: claims.to), to: Self.chainFile)
            return (claims, compact)
        }
    }

    /// The claims of a report this host signed or keeps.
    static func claims(of report: String) throws -> UsageReportClaims {
        do {
            return try JWS.parse(report, expecting: .report).decodePayload(UsageReportClaims.self)
        } catch {
            throw error.tallyError("a kept usage report")
        }
    }

    /// `YYYY-MM-DD` as days since 1970-01-01.
    public static func day(_ text: String, name: String = "day") throws -> Int {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        guard text.count == 10, let date = formatter.date(from: text) else {
            throw TallyError(.usageError, "\(name) must be a day such as 2026-11-01, not '\(text)'")
        }
        return CountWindow.day(of: date)
    }

    public static func text(day: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400))
    }
}
