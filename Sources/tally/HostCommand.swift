import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyVendorLink

struct HostOptions: ParsableArguments {
    @Option(name: .long, help: "The host's state directory (default: $TALLY_HOST_DIR, else ~/.local/share/tally/host).")
    var stateDir: String?

    var directory: StateDirectory {
        StateDirectory(StateDirOption.resolve(stateDir, environment: "TALLY_HOST_DIR", role: "host"))
    }

    var identity: HostIdentity { HostIdentity(directory: directory) }
}

struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "The activation host: key, activation by the vendor, status.",
        subcommands: [HostInstallKey.self, HostActivate.self, HostRenew.self, HostServe.self, HostSet.self, HostGet.self, HostReset.self, HostStatusCommand.self,
                      HostClients.self, HostEvents.self, HostReport.self, HostBackup.self, HostDNSCommand.self, HostFill.self, HostStoreCommand.self]
    )
}

struct HostInstallKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "install-key", abstract: "Install the secret host key (creates the host id and key pair).")
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The host key, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX.") var key: String
    @Option(help: "The vendor's public key file (vendor-public.jwk); needed the first time.") var vendorJwk: String?
    @Flag(help: "Make a new key pair (uses one of the key's activations for this host).") var newIdentity = false

    func run() throws {
        try Output.run(json: output.json) {
            var roots: [JWK]?
            if let vendorJwk {
                let data = Data(try vendorJwk.readFileArgument().utf8)
                if let many = try? TallyJSON.decode([JWK].self, from: data) {
                    roots = many
                } else if let one = try? TallyJSON.decode(JWK.self, from: data) {
                    roots = [one]
                } else {
                    throw TallyError(.stateUnreadable, "\(vendorJwk) is not a JWK file")
                }
            }
            let info = try host.identity.installKey(key, vendorRoots: roots, newIdentity: newIdentity)
            Output.emit(info, json: output.json) {
                "host key \(info.keyID) installed; host id \(info.hostID)\nnext: `tally host activate --offline-request FILE`, send FILE to the vendor"
            }
        }
    }
}

struct HostActivate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Activate the host: online in one step, or offline with a request file and the certificate the vendor answers with."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Activate online at the vendor's service, https://HOST[:PORT]; later renewals use the URL the certificate carries.")
    var online: String?
    @OptionGroup var link: VendorLinkOptions
    @Option(help: "Write the activation request to this file (offline).") var offlineRequest: String?
    @Option(help: "Install this certificate from the vendor (offline).") var certificate: String?

    func run() async throws {
        try await Output.run(json: output.json) {
            switch (online, offlineRequest, certificate) {
            case let (url?, nil, nil):
                let result = try await HostOnline(directory: host.directory, settings: link.settings()).activate(url: url)
                try emitInstalled(result.certificate, detail: "online at \(result.url) (\(result.unlock))")
            case let (nil, path?, nil):
                let request = try host.identity.activationRequest()
                try AtomicFile.write(Data((request + "\n").utf8), to: URL(fileURLWithPath: path), mode: 0o600)
                Output.emit(["requestFile": path], json: output.json) {
                    "activation request written to \(path) (it holds the host key: send it to the vendor privately)\nthe vendor runs `tally vendor activate-host \(path) --out CERT`; then `tally host activate --certificate CERT`"
                }
            case let (nil, nil, path?):
                try emitInstalled(try host.identity.installCertificate(path.readFileArgument()), detail: nil)
            default:
                throw TallyError(.usageError, "give exactly one of --online URL, --offline-request FILE or --certificate FILE")
            }
        }
    }

    private func emitInstalled(_ installed: HostCertificate, detail: String?) throws {
        let status = try host.identity.status()
        Output.emit(status, json: output.json) {
            "host activated\(detail.map { " \($0)" } ?? ""): certificate \(installed.claims.serial) valid until \(Output.iso(installed.expires)) for "
                + installed.claims.skus.map(\.sku).joined(separator: ", ")
                + (installed.claims.vurl.map { "\nvendor URL (for renewals and reports): \($0)" } ?? "")
        }
    }
}

struct HostStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the host's dli: activation, count per class, port, intervals, requests by result.",
        discussion: "Asks the running host's admin interface when one serves from this state directory, else reads the store."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Output.run(json: output.json) {
            let live = try AdminClient.fetch(AdminStatus.self, "/api/status", directory: host.directory)
            var status = live?.report
            if status == nil { status = try await HostStatusReport.read(directory: host.directory) }
            guard let status else { return }
            Output.emit(status, json: output.json) {
                var lines = ["host id:              \(status.hostId)", "host key:             \(status.keyId)",
                             "activated:            \(status.activated ? "yes, certificate valid until \(Output.iso(status.certificateExpires))" : "no")"]
                if let problem = status.problem { lines.append("problem:              \(problem)") }
                if let warning = status.certificateWarning { lines.append("WARNING:              \(warning)") }
                for (productClass, count) in status.classes.sorted(by: { $0.key < $1.key }) {
                    let verdict = count.currentCount >= count.requiredCount ? "activating" : "below threshold"
                    lines.append("count (\(productClass)):".padding(toLength: 22, withPad: " ", startingAt: 0)
                                 + "\(count.currentCount) of \(count.requiredCount) (\(verdict))")
                }
                lines.append("SKUs:                 " + (status.skus.isEmpty ? "-" : status.skus.map { "\($0.sku) (\($0.class))" }.joined(separator: ", ")))
                lines.append("listening on:         \(status.listen)")
                lines.append("activation interval:  \(status.activationInterval) min")
                lines.append("renewal interval:     \(status.renewalInterval) min")
                lines.append("DNS publishing:       \(status.dnsPublishing ? "on" : "off")\(status.lowPriority ? ", low priority" : "")")
                lines.append("requests:             \(status.totalRequests) total, \(status.failedRequests) failed")
                for total in status.requestsByResult {
                    lines.append("  \(total.result.hex) \(total.name): \(total.requests)")
                }
                if let hosts = status.siteHosts {
                    lines.append("hosts of the site:    \(hosts.count) sharing the store")
                    lines += hosts.map { "  \($0.id)  \($0.address)  last answer \($0.lastAnswer.map { Output.iso($0) } ?? "never")" }
                }
                if let live {
                    lines.append("serving:              yes, activation port \(live.activationAddress), since \(Output.iso(live.startedAt))")
                    if let endpoint = AdminEndpoint.read(from: host.directory) { lines.append("admin / dashboard:    http://\(endpoint.address)/") }
                } else {
                    lines.append("serving:              no (read from the store)")
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}
