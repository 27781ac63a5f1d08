import Foundation
import TallyCore

/// What a report says that cannot be true, whoever signed it.
///
/// The licensee owns the host, so it holds the host's private key and can sign any report; a signature only says
/// that the report came from that host. These checks refuse what no honest host writes: days after the report was
/// made, before the host was first certified or after its certificate ended, days outside the report's own period,
/// SKUs the certificate does not list (or under another class), negative counts and one day reported twice.
extension UsageReportAudit {
    /// Why `claims` cannot be an honest report of the host `certificate` names, or `nil`.
    ///
    /// - Parameter firstCertified: when the vendor first certified this host id (from its ledger), if known: no
    ///   sighting can be older. Without it, the certificate's own `nbf` is the bound.
    static func implausibility(of claims: UsageReportClaims, certificate: HostCertificateClaims, firstCertified: Date?) -> String? {
        guard let from = day(claims.from), let to = day(claims.to), from <= to else {
            return "its period \(claims.from) … \(claims.to) is not a range of days"
        }
        let madeOn = CountWindow.day(of: claims.iat.date)
        let earliest = CountWindow.day(of: firstCertified ?? certificate.nbf.date)
        let latest = min(madeOn, CountWindow.day(of: certificate.exp.date))
        var seen: Set<String> = []
        for usage in claims.usage {
            guard let day = day(usage.day) else { return "\(usage.day) is not a day" }
            guard day <= madeOn else {
                return "it reports \(usage.day), after the report was made (\(text(madeOn)))"
            }
            guard day >= earliest, day <= latest else {
                return "it reports \(usage.day), outside the days its host could count (\(text(earliest)) … \(text(latest)): "
                    + (firstCertified == nil ? "its certificate's validity" : "first certified by this vendor, to its certificate's end") + ")"
            }
            guard day >= from, day <= to else {
                return "it reports \(usage.day), outside its own period \(claims.from) … \(claims.to)"
            }
            guard let productClass = certificate.productClass(of: usage.sku) else {
                return "it reports SKU \(usage.sku), which its host certificate does not list"
            }
            guard productClass == usage.class else {
                return "it reports SKU \(usage.sku) as class \(usage.class); its host certificate says \(productClass)"
            }
            guard usage.machines >= 0 else { return "it reports \(usage.machines) machines for \(usage.sku) on \(usage.day)" }
            guard seen.insert(usage.day + "\u{0}" + usage.sku).inserted else {
                return "it reports \(usage.sku) on \(usage.day) twice"
            }
        }
        return newMachinesImplausibility(claims, earliest: earliest, latest: latest)
    }

    /// What the report's new machines per day (`new`) say that cannot be true: a day outside the report's period
    /// or the days its host could count, a day twice, negative numbers, more new machines on a day than machines
    /// it reports that day (a new machine asked that day), more address blocks than machines, or more from the
    /// busiest blocks than there were.
    static func newMachinesImplausibility(_ claims: UsageReportClaims, earliest: Int, latest: Int) -> String? {
        guard let new = claims.new else { return nil }
        var seenMachines: [String: Int] = [:]
        for usage in claims.usage { seenMachines[usage.day, default: 0] += usage.machines }
        var days: Set<String> = []
        for entry in new {
            guard let day = day(entry.day) else { return "its new machines name \(entry.day), which is not a day" }
            guard day >= earliest, day <= latest, claims.from <= entry.day, entry.day <= claims.to else {
                return "it reports new machines on \(entry.day), outside its period \(claims.from) … \(claims.to) or the days its host could count"
            }
            guard days.insert(entry.day).inserted else { return "it reports new machines on \(entry.day) twice" }
            guard entry.machines >= 0, entry.addresses >= 0, entry.busiest >= 0 else {
                return "it reports negative new machines on \(entry.day) (\(entry.machines) machines, \(entry.addresses) address blocks, \(entry.busiest) from the busiest)"
            }
            let seen = seenMachines[entry.day] ?? 0
            guard entry.machines <= seen else {
                return "it reports \(entry.machines) new machines on \(entry.day), but only \(seen) machine(s) asked that day"
            }
            guard entry.addresses <= entry.machines, entry.busiest <= entry.machines, entry.machines == 0 || entry.addresses >= 1 else {
                return "its new machines on \(entry.day) do not add up: \(entry.machines) machines from \(entry.addresses) address blocks, \(entry.busiest) from the busiest"
            }
        }
        return nil
    }

    /// `YYYY-MM-DD` as days since 1970, or `nil`.
    static func day(_ text: String) -> Int? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        guard text.count == 10, let date = formatter.date(from: text) else { return nil }
        return CountWindow.day(of: date)
    }

    static func text(_ day: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400))
    }
}

extension HostKeyLedger {
    /// When each host id was first certified (its first activation), for ``UsageReportAudit/audit(_:roots:firstCertified:)``.
    public var firstCertification: [String: Date] {
        var first: [String: Date] = [:]
        for host in entries.flatMap(\.hosts) {
            first[host.hostID] = min(first[host.hostID] ?? host.firstActivated, host.firstActivated)
        }
        return first
    }
}
