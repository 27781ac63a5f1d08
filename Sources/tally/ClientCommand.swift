import ArgumentParser
import Foundation
import TallyClient
import TallyCore

/// Timeouts of the exchange with a host.
struct NetworkOptions: ParsableArguments {
    @Option(help: "Seconds to wait for a connection to the host.") var connectTimeout: Double = 1
    @Option(help: "Seconds to wait for the host's answer once connected.") var readTimeout: Double = 5

    func validate() throws {
        guard connectTimeout > 0, readTimeout > 0, connectTimeout <= 300, readTimeout <= 300 else {
            throw ValidationError("timeouts must be between 0 and 300 seconds")
        }
    }
}

struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "The client verbs (slmgr-style): install a setup key, activate, show the licence, pin a host.",
        discussion: """
        Every verb acts on a client state directory: --state-dir DIR, else $TALLY_CLIENT_DIR, else \
        ~/.local/share/tally/client.

        Every verb also needs the vendor's client profile (its root keys and SKUs), from outside the state \
        directory: --profile FILE, else $TALLY_CLIENT_PROFILE, else /etc/tally/client-profile.json (where the \
        application's package installs it). The roots it trusts come only from there; a profile.json an older \
        tally stored in the state directory is ignored.

        The machine is identified by /etc/machine-id and, where readable, /sys/class/dmi/id/product_uuid; \
        nothing else changes that. $TALLY_MACHINE_NAME changes only the name shown to the host's administrator.

        DNS discovery asks the name servers of /etc/resolv.conf and searches its search list (or the \
        skms-domain). `set-dns-servers ADDR[:PORT],...` and `set-resolv-conf PATH` store others in the state \
        directory; $TALLY_DNS_SERVERS (ADDR[:PORT],...) and $TALLY_RESOLV_CONF override those for one command.
        """,
        subcommands: [ClientIPK.self, ClientUPK.self, ClientATO.self, ClientDLI.self, ClientDLV.self, ClientXPR.self,
                      ClientSKMS.self, ClientCKMS.self, ClientSKMSDomain.self, ClientCKMSDomain.self, ClientSKHC.self,
                      ClientCKHC.self, ClientSetDNSServers.self, ClientSetResolvConf.self, ClientRearm.self, ClientRenewDue.self]
    )
}

// MARK: - Keys

struct ClientIPK: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ipk", abstract: "Install a client setup key (makes this machine a client for its SKU).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The client setup key, CXXXX-XXXXX-XXXXX-XXXXX-XXXXX.") var key: String

    func run() throws {
        try Output.run(json: output.json) {
            let installed = try client.client().installKey(key)
            Output.emit(installed, json: output.json) {
                if installed.alreadyInstalled { return "the key for \(installed.name) (\(installed.sku)) is already installed; CMID \(installed.cmid)" }
                return "installed the client setup key for \(installed.name) (\(installed.sku), class \(installed.productClass))\n"
                    + "CMID \(installed.cmid)\(installed.newMachine ? " (new)" : "")\n"
                    + "next: pin the host (`tally client skms HOST[:PORT]`) and activate (`tally client ato`)"
            }
        }
    }
}

struct ClientUPK: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upk", abstract: "Uninstall a client setup key and its ticket.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU (default: the only one installed).") var sku: String?

    func run() throws {
        try Output.run(json: output.json) {
            let removed = try client.client().uninstallKey(sku: sku)
            Output.emit(["uninstalled": removed], json: output.json) { "uninstalled the key for \(removed)" }
        }
    }
}

struct ClientRearm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rearm", abstract: "Make a new CMID and restart grace (up to the vendor's rearm limit).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let result = try client.client().rearm()
            Output.emit(result, json: output.json) {
                "rearmed: new CMID \(result.cmid) (was \(result.previousCMID)); \(result.rearmCount) of \(result.rearmLimit) rearms used\n"
                    + "tickets were dropped: activate again with `tally client ato`"
            }
        }
    }
}

// MARK: - Activation

/// An activation refused by the host, printed as the outcome plus the error.
struct RefusedOutcome: Encodable {
    var outcome: ActivationOutcome
    var error: Output.ErrorBody

    enum Key: String, CodingKey { case error }

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(error, forKey: .error)
    }
}

enum OutcomeText {
    static func describe(_ outcome: ActivationOutcome) -> String {
        var counts = ""
        if let current = outcome.hostCount, let required = outcome.requiredCount { counts = "; host count \(current) of \(required) required" }
        if outcome.granted {
            return "\(outcome.sku): activated by \(outcome.host ?? "the host")\(counts); ticket valid until \(Output.iso(outcome.ticketExpires)); renews after \(Output.iso(outcome.nextAttempt))"
        }
        let info = outcome.result.info
        var text = "\(outcome.sku): \(outcome.result.hex)\(info.map { " (\($0.name)): \($0.meaning)" } ?? "")\(counts)"
        if let message = outcome.message { text += "\n  \(message)" }
        text += "\n  licence: \(outcome.licenseStatus.rawValue); next attempt \(Output.iso(outcome.nextAttempt))"
        return text
    }

    static func errorBody(_ outcome: ActivationOutcome) -> Output.ErrorBody {
        let info = outcome.result.info
        var message = outcome.message ?? "the host refused the activation"
        if outcome.message == nil, let current = outcome.hostCount, let required = outcome.requiredCount {
            message = "the host's count is \(current); \(required) machines are needed"
        }
        return Output.ErrorBody(code: outcome.result, name: info?.name, meaning: info?.meaning, message: message,
                                remedy: outcome.failure?.remedy ?? info?.remedy ?? "", hint: outcome.failure?.hint)
    }
}

struct ClientATO: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ato", abstract: "Activate now: ask the host, verify its signed answer, store the ticket.",
        discussion: "Exits 0 when the host granted a ticket; otherwise prints the code (e.g. 0xC004F038 with the counts) and exits 1.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var network: NetworkOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU (default: the only one installed).") var sku: String?

    func run() throws {
        try Output.run(json: output.json) {
            let outcome = try client.client(connectTimeout: network.connectTimeout, readTimeout: network.readTimeout).activate(sku: sku)
            if outcome.granted {
                Output.emit(outcome, json: output.json) { OutcomeText.describe(outcome) }
                return
            }
            let body = OutcomeText.errorBody(outcome)
            if output.json { Output.printJSON(RefusedOutcome(outcome: outcome, error: body)) }
            var text = "error \(outcome.result.hex)\(body.name.map { " (\($0)): \(body.meaning ?? "")" } ?? "")\n  \(body.message)"
            text += "\n  Remedy: \(body.remedy)"
            if outcome.isLicensed { text += "\n  The ticket already held stays valid until \(Output.iso(outcome.ticketExpires))." }
            text += "\n  Next attempt: \(Output.iso(outcome.nextAttempt))"
            FileHandle.standardError.write(Data((text + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

struct ClientRenewDue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew-due", abstract: "Activate or renew every installed SKU whose next attempt has come (for a timer).",
        discussion: "Exits 0 when every attempt got a signed answer from a host (granted or refused), 1 when any got none.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var network: NetworkOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable { var outcomes: [ActivationOutcome] }

    func run() throws {
        try Output.run(json: output.json) {
            let outcomes = try client.client(connectTimeout: network.connectTimeout, readTimeout: network.readTimeout).renewIfDue()
            Output.emit(Result(outcomes: outcomes), json: output.json) {
                outcomes.isEmpty ? "nothing is due" : outcomes.map(OutcomeText.describe).joined(separator: "\n")
            }
            if outcomes.contains(where: { $0.failure != nil }) { throw ExitCode(1) }
        }
    }
}

// MARK: - Licence information

enum ReportText {
    static func minutes(_ value: Int) -> String {
        value % 1440 == 0 ? "\(value) minutes (\(value / 1440) days)" : value % 60 == 0 ? "\(value) minutes (\(value / 60) hours)" : "\(value) minutes"
    }

    static func expiry(_ report: LicenseReport) -> String {
        switch report.licenseStatus {
        case .licensed: return "activated until \(Output.iso(report.expires))"
        case .notification: return "not activated: grace is over (notification)"
        case .unlicensed: return "unlicensed"
        default: return "\(report.licenseStatus.rawValue) ends \(Output.iso(report.expires))"
        }
    }

    static func dli(_ report: LicenseReport, verbose: Bool) -> String {
        var lines: [(String, String)] = [
            ("Name", "\(report.name ?? report.sku) (\(report.sku)\(report.productClass.map { ", class \($0)" } ?? ""))"),
            ("CMID", report.cmid),
            ("License status", report.licenseStatus.rawValue),
            ("Expiry", expiry(report)),
        ]
        if let problem = report.ticketProblem { lines.append(("Ticket problem", problem)) }
        if let result = report.lastResult {
            lines.append(("Last result", "\(result.hex)\(result.info.map { " (\($0.name))" } ?? "") at \(Output.iso(report.lastAttempt))"))
        } else {
            lines.append(("Last result", "never activated"))
        }
        if let current = report.hostCount, let required = report.requiredCount {
            lines.append(("Host count", "\(current) of \(required) required"))
        }
        lines.append(("Last host", report.host ?? "-"))
        lines.append(("Host name from DNS", report.pinnedHost == nil ? (report.hostNameFromDNS ?? "-") : "- (pinned)"))
        lines.append(("Pinned host (skms)", report.pinnedHost ?? "none (discovery)"))
        lines.append(("Domain (skms-domain)", report.domain ?? "none (search list)"))
        lines.append(("Host caching", report.hostCaching ? "enabled\(report.cachedHost.map { " (cached \($0))" } ?? "")" : "disabled"))
        lines.append(("Activation interval", minutes(report.activationInterval)))
        lines.append(("Renewal interval", minutes(report.renewalInterval)))
        lines.append(("Next attempt", Output.iso(report.nextAttempt)))
        lines.append(("Rearms", "\(report.rearmCount) of \(report.rearmLimit)"))
        if report.clockRolledBack {
            lines.append(("Clock", "set back beyond the tolerance (0xC0A70005): using \(Output.iso(report.trustedTime))"))
        }
        if verbose {
            lines.append(("Machine name", report.machineName))
            lines.append(("Fingerprint", report.fingerprint))
            lines.append(("Installed", Output.iso(report.installedAt)))
            lines.append(("CMID made", Output.iso(report.cmidCreated) + (report.cmidCreated == nil ? " (a CMID of an older tally: no grace of its own)" : "")))
            lines.append(("Grace ends", Output.iso(report.graceEnds)))
            lines.append(("Newest host time", Output.iso(report.newestHostTime) + (report.newestHostTime == nil ? "" : " (signed; the clock is never taken below it)")))
            lines.append(("Activated", Output.iso(report.activatedAt)))
            lines.append(("Cached host", report.cachedHost ?? "-"))
            if let ticket = report.ticket {
                lines.append(("Ticket id", ticket.id))
                lines.append(("Ticket issued", "\(Output.iso(ticket.issuedAt)) by host \(ticket.hostID) at count \(ticket.count)"))
                lines.append(("Ticket renew after", Output.iso(ticket.renewAfter)))
                lines.append(("Ticket expires", Output.iso(ticket.expires)))
                lines.append(("Host certificate", "serial \(ticket.certificateSerial), group \(ticket.productGroup), expires \(Output.iso(ticket.certificateExpires))"))
                lines.append(("Vendor", "\(ticket.vendor) (root key \(ticket.vendorKey))"))
            } else {
                lines.append(("Ticket", "none trusted"))
            }
        }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}

/// Shows one licence, or all of them.
struct LicenseDisplay {
    var client: ClientOptions
    var json: Bool
    var sku: String?

    struct All: Encodable { var licenses: [LicenseReport] }

    func show(_ text: (LicenseReport) -> String, json jsonValue: (LicenseReport) -> any Encodable) throws {
        let tally = try client.client()
        let installed = try tally.installedSKUs()
        if sku != nil || installed.count <= 1 {
            let report = try tally.status(sku: sku)
            if json { Output.printJSON(AnyEncodable(jsonValue(report))) } else { print(Sanitize.terminal(text(report), keepingLineBreaks: true)) }
            return
        }
        let reports = try tally.statusOfAll()
        if json {
            Output.printJSON(All(licenses: reports))
        } else {
            print(Sanitize.terminal(reports.map(text).joined(separator: "\n\n"), keepingLineBreaks: true))
        }
    }
}

struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

struct ClientDLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dli", abstract: "Show the licence: status, CMID, host, counts, intervals (the ticket is verified offline).",
        discussion: "With several SKUs installed and no --sku, every licence is shown (--json: {\"licenses\": [...]}).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU (default: every installed one).") var sku: String?

    func run() throws {
        try Output.run(json: output.json) {
            try LicenseDisplay(client: client, json: output.json, sku: sku).show({ ReportText.dli($0, verbose: false) }, json: { $0 })
        }
    }
}

struct ClientDLV: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dlv", abstract: "Show everything about the licence, with the verified ticket's claims.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU (default: every installed one).") var sku: String?

    func run() throws {
        try Output.run(json: output.json) {
            try LicenseDisplay(client: client, json: output.json, sku: sku).show({ ReportText.dli($0, verbose: true) }, json: { $0 })
        }
    }
}

struct ClientXPR: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "xpr", abstract: "Show when the licence's current state ends.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The SKU (default: every installed one).") var sku: String?

    struct Expiry: Encodable { var sku: String; var licenseStatus: LicenseStatus; var expires: Date? }

    func run() throws {
        try Output.run(json: output.json) {
            try LicenseDisplay(client: client, json: output.json, sku: sku).show(
                { "\($0.name ?? $0.sku): \(ReportText.expiry($0))" },
                json: { Expiry(sku: $0.sku, licenseStatus: $0.licenseStatus, expires: $0.expires) })
        }
    }
}

// MARK: - Discovery settings

enum SettingsText {
    static func describe(_ settings: ClientSettings) -> String {
        """
        pinned host:  \(settings.pinnedHost?.description ?? "none (discovery)")
        domain:       \(settings.domain ?? "none (search list)")
        host caching: \(settings.hostCaching ? "enabled" : "disabled")\(settings.cachedHost.map { " (cached \($0))" } ?? "")
        """
    }
}

/// A verb that changes one discovery setting and shows them all.
protocol SettingsVerb: ParsableCommand {
    var client: ClientOptions { get }
    var output: OutputOptions { get }
    func change(_ client: TallyClient) throws -> ClientSettings
}

extension SettingsVerb {
    func run() throws {
        try Output.run(json: output.json) {
            let settings = try change(client.client())
            Output.emit(settings, json: output.json) { SettingsText.describe(settings) }
        }
    }
}

struct ClientSKMS: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "skms", abstract: "Pin the activation host: HOST, HOST:PORT or [IPv6]:PORT (default port 1688).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The host, e.g. kms.example.com, 192.0.2.7:1688 or [2001:db8::7]:1688.") var host: String
    func change(_ client: TallyClient) throws -> ClientSettings { try client.setHost(host) }
}

struct ClientCKMS: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "ckms", abstract: "Clear the pinned host (back to discovery).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    func change(_ client: TallyClient) throws -> ClientSettings { try client.clearHost() }
}

struct ClientSKMSDomain: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "skms-domain", abstract: "Set the DNS domain to find hosts in.")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The domain, e.g. corp.example.com.") var domain: String
    func change(_ client: TallyClient) throws -> ClientSettings { try client.setDomain(domain) }
}

struct ClientCKMSDomain: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "ckms-domain", abstract: "Clear the DNS domain (back to the resolver's search list).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    func change(_ client: TallyClient) throws -> ClientSettings { try client.clearDomain() }
}

struct ClientSKHC: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "skhc", abstract: "Turn host caching on (reuse the host that answered; the default).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    func change(_ client: TallyClient) throws -> ClientSettings { try client.setHostCaching(true) }
}

struct ClientCKHC: SettingsVerb {
    static let configuration = CommandConfiguration(commandName: "ckhc", abstract: "Turn host caching off (discover a host every time).")
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    func change(_ client: TallyClient) throws -> ClientSettings { try client.setHostCaching(false) }
}
