import ArgumentParser
import Foundation
import TallyClient
import TallyCore

/// `tally doctor`: KMS's troubleshooting checklist on a client machine, one line per check.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Walk the activation troubleshooting checklist on this client machine, one line per check.",
        discussion: """
        Checks, in order: key (a client setup key of a SKU in the vendor's profile is installed, and no host key), \
        name-servers, srv-records (for each domain searched), targets (each SRV target, or the pinned host, \
        resolves and answers on its port), host-certificate (the host's signed answer verifies against the \
        vendor's roots and covers the SKU), count (against the class threshold), clock-skew (against the host's \
        clock), last-result (the newest 12289 event), pinned-host (a pinned host overriding DNS SRV records).

        Each line is `PASS|WARN|FAIL  CHECK  CODE  FINDING`, with the remedy under every WARN and FAIL; \
        `tally explain CODE` says more about a code. --json prints {"checks": [{name, status, code, finding, \
        remedy}], "ok"}. Exits 0 when no check fails (warnings allowed), 1 otherwise.

        What it touches: it reads the client state directory (--state-dir, else $TALLY_CLIENT_DIR, as `tally \
        client`; the vendor's profile from --profile, else $TALLY_CLIENT_PROFILE, else \
        /etc/tally/client-profile.json) and never writes it: no ticket is stored, no event is logged, the licence is not changed. It \
        asks each host's /health, which counts nothing, and then sends the host the client would use one \
        activation request, as this machine and for the installed SKU, like `tally client ato`: the host counts \
        this machine (its count includes this machine anyway) and logs a 12290 event. A state copied from another \
        machine is not sent (its CMID is the other machine's). DNS comes from /etc/resolv.conf, or \
        $TALLY_RESOLV_CONF and $TALLY_DNS_SERVERS (ADDR[:PORT],...).
        """
    )

    @OptionGroup var client: ClientOptions
    @OptionGroup var network: NetworkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU to ask the host for (default: the only one installed, or the first by name).") var sku: String?

    func run() throws {
        try Output.run(json: output.json) {
            let report = try client.client(connectTimeout: network.connectTimeout, readTimeout: network.readTimeout).doctor(sku: sku)
            if output.json {
                Output.printJSON(report)
            } else {
                print(Sanitize.terminal(DoctorOutput.render(report), keepingLineBreaks: true))
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}

enum DoctorOutput {
    /// `STATUS  CHECK  CODE  FINDING`, columns aligned, the remedy (and hint) indented under WARN and FAIL.
    static func render(_ report: DoctorReport) -> String {
        let nameWidth = report.checks.map(\.name.rawValue.count).max() ?? 0
        let indent = String(repeating: " ", count: 6)
        var lines: [String] = []
        for check in report.checks {
            let name = check.name.rawValue.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            let code = (check.code?.hex ?? "-").padding(toLength: 10, withPad: " ", startingAt: 0)
            lines.append("\(check.status.rawValue)  \(name)  \(code)  \(check.finding)")
            if check.status != .pass, let remedy = check.remedy { lines.append(indent + "Remedy: " + remedy) }
            if let hint = check.hint { lines.append(indent + "Hint: " + hint) }
        }
        let count = { (status: DoctorStatus) in report.checks.filter { $0.status == status }.count }
        let warnings = count(.warn)
        lines.append("\(report.checks.count) checks: \(count(.pass)) passed, \(warnings) warning\(warnings == 1 ? "" : "s"), \(count(.fail)) failed")
        return lines.joined(separator: "\n")
    }
}
