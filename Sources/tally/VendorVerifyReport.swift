import ArgumentParser
import Foundation
import TallyCore
import TallyVendor

struct VendorVerifyReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-report",
        abstract: "Verify hosts' usage reports and print the machines per SKU and class.",
        discussion: "Checks each report's signature and host certificate against this vendor's root key, then what it says (a report that names days after it was made or before its host was first certified, SKUs its certificate does not list, or impossible counts is refused: the licensee holds the host's key and can sign anything), then each host's chain (seq and prv). Exits 1 when a report is refused or a gap, a broken chain, a repeated seq or one host id under several key pairs is found."
    )
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "Report files from `tally host report`.") var files: [String]

    func run() throws {
        try Output.run(json: output.json) {
            guard !files.isEmpty else { throw TallyError(.usageError, "name at least one report file") }
            let roots = try TrustedRoots([try vendor.authority.publicKey()])
            // The ledger says when each host was first certified: no report can count machines before that.
            let firstCertified = (try? vendor.authority.ledger())?.firstCertification ?? [:]
            let audit = UsageReportAudit.audit(try files.map { ($0, try $0.readFileArgument()) }, roots: roots, firstCertified: firstCertified)
            Output.emit(audit, json: output.json) {
                var lines: [String] = []
                for report in audit.reports {
                    lines.append("ok       \(report.file): host \(report.hostId) seq \(report.seq), \(report.from) … \(report.to), certificate \(report.certificateSerial)")
                }
                for refused in audit.refused { lines.append("REFUSED  \(refused.file): \(refused.reason)") }
                for finding in audit.findings { lines.append("FLAG     \(finding.kind.rawValue): \(finding.message)") }
                lines.append("")
                lines.append("SKU".padding(toLength: 24, withPad: " ", startingAt: 0) + "class".padding(toLength: 10, withPad: " ", startingAt: 0)
                             + "peak machines/day".padding(toLength: 19, withPad: " ", startingAt: 0) + "machine-days  days")
                for total in audit.totals {
                    lines.append(total.sku.padding(toLength: 24, withPad: " ", startingAt: 0) + total.productClass.padding(toLength: 10, withPad: " ", startingAt: 0)
                                 + String(total.peakMachines).padding(toLength: 19, withPad: " ", startingAt: 0) + String(total.machineDays).padding(toLength: 14, withPad: " ", startingAt: 0)
                                 + String(total.days))
                }
                for new in audit.newMachines {
                    lines.append("\nhost \(new.hostId): \(new.machines) new machine(s) over \(new.days) day(s); most on \(new.busiestDay): "
                                 + "\(new.busiestDayMachines), \(new.busiestDayFromBusiestBlocks) of them from its \(NewMachinesDay.busiestBlocks) busiest address blocks")
                }
                lines.append(audit.clean ? "\nall \(audit.reports.count) report(s) verified; the chain is complete" : "\nproblems found: see REFUSED and FLAG above")
                return lines.joined(separator: "\n")
            }
            if !audit.clean { throw ExitCode(1) }
        }
    }
}
