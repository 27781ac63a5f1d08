import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyHost

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
        subcommands: [HostInstallKey.self, HostActivate.self, HostStatusCommand.self]
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

struct HostActivate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Activate the host offline: write a request for the vendor, then install the certificate it answers with."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Write the activation request to this file.") var offlineRequest: String?
    @Option(help: "Install this certificate from the vendor.") var certificate: String?

    func run() throws {
        try Output.run(json: output.json) {
            switch (offlineRequest, certificate) {
            case let (path?, nil):
                let request = try host.identity.activationRequest()
                try AtomicFile.write(Data((request + "\n").utf8), to: URL(fileURLWithPath: path), mode: 0o600)
                Output.emit(["requestFile": path], json: output.json) {
                    "activation request written to \(path) (it holds the host key: send it to the vendor privately)\nthe vendor runs `tally vendor activate-host \(path) --out CERT`; then `tally host activate --certificate CERT`"
                }
            case let (nil, path?):
                let installed = try host.identity.installCertificate(path.readFileArgument())
                let status = try host.identity.status()
                Output.emit(status, json: output.json) {
                    "host activated: certificate \(installed.claims.serial) valid until \(Output.iso(installed.expires)) for "
                        + installed.claims.skus.map(\.sku).joined(separator: ", ")
                }
            default:
                throw TallyError(.usageError, "give exactly one of --offline-request FILE or --certificate FILE")
            }
        }
    }
}

struct HostStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the host's identity and activation (the host's dli).")
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let status = try host.identity.status()
            Output.emit(status, json: output.json) {
                var lines = ["host id:      \(status.hostId)", "host key:     \(status.keyId)",
                             "activated:    \(status.activated ? "yes" : "no")"]
                if let problem = status.problem { lines.append("problem:      \(problem)") }
                if status.activated {
                    lines.append("certificate:  serial \(status.certificateSerial ?? 0), expires \(Output.iso(status.certificateExpires))")
                    lines.append("group:        \(status.group ?? "-")")
                    lines.append("SKUs:         " + status.skus.map { "\($0.sku) (\($0.class))" }.joined(separator: ", "))
                    lines.append("thresholds:   " + status.thresholds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}
