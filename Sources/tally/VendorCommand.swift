import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyVendor

struct VendorOptions: ParsableArguments {
    @Option(name: .long, help: "The vendor's state directory (default: $TALLY_VENDOR_DIR, else ~/.local/share/tally/vendor).")
    var stateDir: String?

    var authority: VendorAuthority {
        VendorAuthority(directory: StateDirectory(StateDirOption.resolve(stateDir, environment: "TALLY_VENDOR_DIR", role: "vendor")))
    }
}

struct VendorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vendor",
        abstract: "The vendor's side: root key, catalog, host keys, host activation.",
        subcommands: [VendorInit.self, VendorCatalog.self, VendorIssueHostKey.self, VendorActivateHost.self,
                      VendorBlockHostKey.self, VendorHostKeys.self, VendorVerifyReport.self,
                      VendorServe.self, VendorAudit.self, VendorReports.self,
                      VendorRootsCommand.self, VendorRotateRoot.self, VendorUseRoot.self, VendorRetireRoot.self]
    )
}

struct VendorInit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the root key, its public JWK and a starter catalog.")

    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The vendor id written into certificates.") var vendorId = "example-vendor"
    @Option(help: "The vendor's display name.") var vendorName = "Example Vendor"
    @Option(help: "The vendor's online service, https://HOST[:PORT]: written into the catalog, so certificates tell hosts where to renew and report.")
    var vendorUrl: String?

    struct Result: Encodable {
        var stateDir: String
        var kid: String
        var onlineKid: String
        var publicKeyFile: String
        var catalogFile: String
        var clientProfileFile: String
    }

    func run() throws {
        try Output.run(json: output.json) {
            let authority = vendor.authority
            let (jwk, _) = try authority.initialise(vendorID: vendorId, vendorName: vendorName, vendorURL: vendorUrl)
            let dir = authority.directory
            let online = try authority.roots().active(.online)?.kid ?? ""
            let result = Result(stateDir: dir.url.path, kid: jwk.kid ?? "", onlineKid: online, publicKeyFile: dir.file(VendorAuthority.publicKeyFile).path,
                                catalogFile: dir.file(VendorAuthority.catalogFile).path,
                                clientProfileFile: dir.file(VendorAuthority.profileFile).path)
            Output.emit(result, json: output.json) {
                """
                vendor root key \(result.kid) created in \(result.stateDir) (private key 0600; keep it off the serving machine)
                online root:    \(result.onlineKid)  (what `tally vendor serve` signs with)
                public key:     \(result.publicKeyFile)  (send it to hosts with their host key)
                catalog:        \(result.catalogFile)  (edit it, then `tally vendor catalog check`)
                client profile: \(result.clientProfileFile)  (embed it in your application)
                """
            }
        }
    }
}

struct VendorCatalog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalog", abstract: "Check the catalog and write the client profile.",
                                                    subcommands: [Check.self, Profile.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate the catalog and report every problem with its place.")
        @OptionGroup var vendor: VendorOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "A catalog file to check instead of the one in the state directory.") var file: String?

        struct Problem: Encodable { var path: String; var line: Int; var column: Int; var message: String }
        struct Result: Encodable { var file: String; var valid: Bool; var problems: [Problem]; var skus: Int?; var groups: Int? }

        func run() throws {
            try Output.run(json: output.json) {
                let path = file ?? vendor.authority.directory.file(VendorAuthority.catalogFile).path
                let text = try path.readFileArgument()
                switch Catalog.load(text) {
                case let .success(catalog):
                    let result = Result(file: path, valid: true, problems: [], skus: catalog.allSKUs.count, groups: catalog.groups.count)
                    Output.emit(result, json: output.json) { "\(path): valid (\(catalog.allSKUs.count) SKUs, \(catalog.groups.count) groups)" }
                case let .failure(found):
                    let problems = found.problems.map { Problem(path: $0.path, line: $0.line, column: $0.column, message: $0.message) }
                    Output.emit(Result(file: path, valid: false, problems: problems), json: output.json) {
                        "\(path): \(problems.count) problem(s)\n" + found.problems.map { "  \(path):\($0.line):\($0.column): \($0.path): \($0.message)" }.joined(separator: "\n")
                    }
                    throw ExitCode(1)
                }
            }
        }
    }

    struct Profile: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write client-profile.json from the catalog, for applications to embed.")
        @OptionGroup var vendor: VendorOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try Output.run(json: output.json) {
                let profile = try vendor.authority.writeClientProfile()
                Output.emit(profile, json: output.json) {
                    "wrote \(vendor.authority.directory.file(VendorAuthority.profileFile).path): \(profile.skus.count) SKUs, \(profile.roots.count) root key(s)"
                }
            }
        }
    }
}

struct VendorIssueHostKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "issue-host-key", abstract: "Issue a secret host key for a product group.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The product group the key unlocks.") var group: String
    @Option(help: "How many distinct hosts the key may unlock.") var maxHosts = 6
    @Option(help: "How many key pairs each host may have certified.") var maxActivationsPerHost = 10

    struct Result: Encodable { var key: String; var keyId: String; var group: String; var maxHosts: Int; var maxActivationsPerHost: Int }

    func run() throws {
        try Output.run(json: output.json) {
            let key = try vendor.authority.issueHostKey(group: group, maxHosts: maxHosts, maxActivationsPerHost: maxActivationsPerHost)
            let result = Result(key: key.description, keyId: key.keyID, group: group, maxHosts: maxHosts, maxActivationsPerHost: maxActivationsPerHost)
            Output.emit(result, json: output.json) {
                "\(key)\n(key id \(key.keyID), group \(group), up to \(maxHosts) hosts × \(maxActivationsPerHost) activations; only its hash is kept: record the key now)"
            }
        }
    }
}

struct VendorActivateHost: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activate-host", abstract: "Answer a host's offline activation request with a certificate.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The request file the host wrote.") var requestFile: String
    @Option(help: "Where to write the host certificate.") var out: String

    struct Result: Encodable {
        var certificateFile: String; var hostId: String; var keyId: String; var unlock: String; var serial: Int
        var expires: Date; var skus: [CertifiedSKU]; var root: String
    }

    func run() throws {
        try Output.run(json: output.json) {
            let activation = try vendor.authority.activateHost(request: requestFile.readFileArgument())
            try AtomicFile.write(Data(activation.answerFile.utf8), to: URL(fileURLWithPath: out))
            let unlock = switch activation.unlock {
            case .newHost: "new host"
            case .newKeyPair: "new key pair for a known host"
            case .renewal: "renewal (free)"
            }
            let result = Result(certificateFile: out, hostId: activation.claims.sub, keyId: activation.keyID, unlock: unlock,
                                serial: activation.claims.serial, expires: activation.claims.exp.date, skus: activation.claims.skus,
                                root: activation.signer)
            Output.emit(result, json: output.json) {
                "certificate \(activation.claims.serial) for host \(activation.claims.sub) written to \(out)\n  unlock: \(unlock) (key \(activation.keyID))\n  expires: \(Output.iso(result.expires)), signed by root \(activation.signer)\n  SKUs: "
                    + activation.claims.skus.map { "\($0.sku) (\($0.class))" }.joined(separator: ", ")
            }
        }
    }
}

struct VendorBlockHostKey: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "block-host-key", abstract: "Block a host key: hosts can no longer be activated with it.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The key id (hk-…), as issue-host-key printed it.") var keyId: String

    func run() throws {
        try Output.run(json: output.json) {
            try vendor.authority.blockHostKey(keyID: keyId)
            Output.emit(["blocked": keyId], json: output.json) { "host key \(keyId) blocked" }
        }
    }
}

struct VendorHostKeys: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "host-keys", abstract: "List the issued host keys and their unlocks.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let ledger = try vendor.authority.ledger()
            Output.emit(ledger, json: output.json) {
                ledger.entries.map { entry in
                    "\(entry.keyID) group \(entry.group)\(entry.blocked ? " BLOCKED" : ""): \(entry.hosts.count)/\(entry.maxHosts) hosts"
                        + entry.hosts.map { "\n  host \($0.hostID): \($0.keyPairs.count)/\(entry.maxActivationsPerHost) activations" }.joined()
                }.joined(separator: "\n")
            }
        }
    }
}
