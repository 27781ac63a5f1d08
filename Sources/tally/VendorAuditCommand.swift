import ArgumentParser
import Foundation
import TallyCore
import TallyVendor

struct VendorAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "List every vendor request (activation, renewal, report) and key change, refusals included."
    )
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only rows from this time on: YYYY-MM-DD (UTC) or an ISO 8601 time.") var since: String?

    func run() throws {
        try Output.run(json: output.json) {
            let rows = try vendor.authority.audit(since: try since.map(Self.parseTime))
            Output.emit(["rows": rows], json: output.json) {
                rows.isEmpty ? "no audit rows" : rows.map { row in
                    var line = "\(Output.iso(row.time))  \(row.kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(row.channel.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                        + "\(row.result.hex)\(row.flagged ? " FLAGGED" : "")"
                    if let address = row.address { line += " from \(address)" }
                    if let host = row.hostId { line += " host \(host)" }
                    if let key = row.keyId { line += " key \(key)" }
                    if let serial = row.serial { line += " serial \(serial)" }
                    if let seq = row.reportSeq { line += " report \(seq)" }
                    return line + ": \(row.message)"
                }.joined(separator: "\n")
            }
        }
    }

    static func parseTime(_ text: String) throws -> Date {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if text.count == 10, let date = day.date(from: text) { return date }
        throw TallyError(.usageError, "--since \(text) is not a day (2026-11-01) or an ISO 8601 time (2026-11-01T12:00:00Z)")
    }
}

struct VendorReports: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Per licensee host: the latest acknowledged usage report, machines per SKU and class, gaps and flags."
    )
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let hosts = try vendor.authority.reportSummaries()
            Output.emit(["hosts": hosts], json: output.json) {
                hosts.isEmpty ? "no usage reports received online" : hosts.map { host in
                    var lines = ["host \(host.hostId)\(host.keyId.map { " (key \($0))" } ?? ""): \(host.reports) report(s) acknowledged"]
                    if let latest = host.latest {
                        lines.append("  latest: report \(latest.seq), \(latest.from) … \(latest.to), received \(Output.iso(latest.receivedAt))")
                    }
                    for total in host.machines {
                        lines.append("  \(total.sku) (\(total.productClass)): peak \(total.peakMachines) machines/day, \(total.machineDays) machine-days over \(total.days) day(s)")
                    }
                    lines.append(host.gaps.isEmpty ? "  chain: complete" : "  GAPS: " + host.gaps.map { $0.from == $0.to ? "\($0.from)" : "\($0.from)…\($0.to)" }.joined(separator: ", "))
                    if host.keyPairs > 1 { lines.append("  FLAG: signed by \(host.keyPairs) key pairs (re-keyed, or its state copied)") }
                    for flag in host.flags { lines.append("  FLAG \(flag.code.hex) at \(Output.iso(flag.time)): \(flag.message)") }
                    return lines.joined(separator: "\n")
                }.joined(separator: "\n")
            }
        }
    }
}
