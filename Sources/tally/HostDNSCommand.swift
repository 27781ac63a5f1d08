import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyStore

/// `tally host dns publish|unpublish|show`: the host's SRV record in DNS (KMS's automatic publishing, by hand).
struct HostDNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Publish, remove or show this host's SRV record (signed RFC 2136 updates; a serving host re-publishes every 24 h).",
        subcommands: [HostDNSPublish.self, HostDNSUnpublish.self, HostDNSShow.self]
    )
}

/// The pieces every `host dns` command needs.
struct HostDNSContext {
    let publisher: DNSPublisher
    /// Where the outcomes' events go (12294 / 12293).
    let store: SQLiteHostStore?

    init(host: HostOptions, port: Int) throws {
        let settings = try HostSettings.load(from: host.directory)
        // Events go to the host's store, created if the host has not served yet.
        store = try? SQLiteHostStore(path: host.directory.file(HostRuntime.storeFile).path)
        publisher = DNSPublisher(directory: host.directory, settings: settings, port: port)
    }

    /// The activation port to publish: `--port` when given; else the port the host serving from this state
    /// directory answers on (asked through its admin API); else the listen setting's port, but only when a
    /// Tally host answers `GET /health` there, so a dead port never replaces a good record.
    static func portToPublish(host: HostOptions, given: Int?) throws -> Int {
        if let given {
            guard (1...65_535).contains(given) else {
                throw TallyError(.usageError, "--port \(given) is not a TCP port", remedy: "Give the port the host serves on, 1 to 65535.")
            }
            return given
        }
        let status: AdminStatus?
        do {
            status = try AdminClient.fetch(AdminStatus.self, "/api/status", directory: host.directory)
        } catch let error as TallyError {
            throw TallyError(error.code, "a host serves from this state directory, but its admin API did not say which port it answers on: \(error.message)",
                             remedy: "Give the port it serves on: `--port PORT` (its first output line, `listening on ADDR:PORT`). " + error.remedy)
        }
        if let status, let address = try? BindAddress(status.activationAddress), (1...65_535).contains(address.port) {
            return address.port
        }
        let settings = try HostSettings.load(from: host.directory)
        let listen = try BindAddress(settings.listen)
        guard (1...65_535).contains(listen.port) else {
            throw TallyError(.usageError, "no host serves from this state directory and the listen setting has port \(listen.port), which cannot be published",
                             remedy: "Give the port the host serves on: `--port PORT`.")
        }
        if let problem = healthProblem(at: listen) {
            throw TallyError(.hostUnreachable,
                             "no host serves from this state directory, and no Tally host answers GET /health on the listen setting's port \(listen.port) "
                                + "(\(problem)): publishing it would point clients at a port where nothing answers",
                             remedy: "Start the host (`tally host serve`, or `systemctl start tally-host`): it publishes its own record. "
                                + "To publish a port by hand all the same, give it: `tally host dns publish --port PORT`.")
        }
        return listen.port
    }

    /// `nil` when a Tally host answers `GET /health` at `address` (a wildcard address is asked on loopback),
    /// else what went wrong.
    static func healthProblem(at address: BindAddress, timeout: TimeInterval = 2) -> String? {
        let response: AdminClient.Response
        do {
            response = try AdminClient.get("/health", from: address, token: nil, timeout: timeout)
        } catch {
            return error.message
        }
        struct Health: Decodable { var status: String }
        guard response.status == 200, (try? TallyJSON.decode(Health.self, from: response.body))?.status == "ok" else {
            return "it answered HTTP \(response.status), not as a Tally host"
        }
        return nil
    }

    /// Whether a host serves from this state directory: its admin interface is up (`admin.json` names a
    /// running `tally … serve`), or, with the admin interface off, a Tally host answers on the listen port.
    static func isServing(_ host: HostOptions) -> Bool {
        if AdminClient.endpoint(host.directory) != nil { return true }
        guard let settings = try? HostSettings.load(from: host.directory), let listen = try? BindAddress(settings.listen),
              (1...65_535).contains(listen.port) else { return false }
        return healthProblem(at: listen) == nil
    }

    static func text(_ outcomes: [DNSPublishOutcome]) -> String {
        guard !outcomes.isEmpty else { return "nothing was published by this host, so there is nothing to remove" }
        return outcomes.map { outcome in
            if outcome.succeeded { return "ok      \(outcome.domain): \(outcome.message)" }
            return "FAILED  \(outcome.domain): \(outcome.code ?? "") \(outcome.message)\n        Remedy: \(outcome.remedy ?? "-")"
        }.joined(separator: "\n")
    }
}

struct HostDNSPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Add or refresh this host's SRV record in every publish-list domain (events 12294 / 12293).",
        discussion: """
        Only this host's record is added or replaced; other hosts' records under the same name stay. The port \
        published is the one the host serving from this state directory answers on (asked through its admin \
        interface); with no host serving, the listen setting's port, and only when a Tally host answers GET /health \
        there; `--port` publishes the given port in any case. Settings: dns-publish-list (DOMAIN[:PRIORITY[:WEIGHT]], \
        weight \(DNSPublishEntry.defaultWeight) by default: RFC 2782 gives a weight-0 record almost no clients next to \
        weighted ones), dns-key-file, dns-primary, dns-target, dns-ttl (see `tally host set --help`).
        """
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The activation port to publish (default: the port the serving host answers on; with none serving, the listen setting's port if a host answers there).")
    var port: Int?

    func run() async throws {
        try await Output.run(json: output.json) {
            let settings = try HostSettings.load(from: host.directory)
            guard settings.dnsPublishing else {
                throw TallyError(.usageError, "DNS publishing is off for this host", remedy: "Turn it on: `tally host set dns-publishing on`.")
            }
            let chosen = try HostDNSContext.portToPublish(host: host, given: port)
            let context = try HostDNSContext(host: host, port: chosen)
            let outcomes = await context.publisher.publish(recordingIn: context.store)
            Output.emit(["outcomes": outcomes], json: output.json) { HostDNSContext.text(outcomes) }
            if outcomes.contains(where: { !$0.succeeded }) { throw ExitCode(1) }
        }
    }
}

struct HostDNSUnpublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpublish",
        abstract: "Remove exactly the SRV record this host published (decommissioning); other hosts' records stay.",
        discussion: """
        A host that still serves with DNS publishing on publishes its record again at its next round (every 24 h) \
        or restart: this command says so. `--and-stop-publishing` turns publishing off first (the dns-publishing \
        setting, which a serving host re-reads every round), so the record stays gone.
        """
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Also turn DNS publishing off (tally host set dns-publishing off), so a serving host does not publish the record again.")
    var andStopPublishing = false

    struct Result: Encodable {
        var outcomes: [DNSPublishOutcome]
        var dnsPublishing: Bool
        var warning: String?
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            var settings = try HostSettings.load(from: host.directory, validating: false)
            if andStopPublishing, settings.dnsPublishing {
                try settings.set("dns-publishing", to: "off")
                try settings.save(to: host.directory)
            }
            let context = try HostDNSContext(host: host, port: 1)
            let outcomes = await context.publisher.unpublish(recordingIn: context.store)
            var warning: String?
            if settings.dnsPublishing, HostDNSContext.isServing(host) {
                warning = "this host still serves with DNS publishing on: it publishes its record again at its next round (within 24 h) or restart. "
                    + "To keep it out of DNS, turn publishing off: `tally host dns unpublish --and-stop-publishing` (or `tally host set dns-publishing off`), "
                    + "or stop the host."
            }
            let result = Result(outcomes: outcomes, dnsPublishing: settings.dnsPublishing, warning: warning)
            Output.emit(result, json: output.json) {
                HostDNSContext.text(outcomes) + (andStopPublishing ? "\nDNS publishing is off for this host (dns-publishing off)" : "")
            }
            if let warning, !output.json {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            if outcomes.contains(where: { !$0.succeeded }) { throw ExitCode(1) }
        }
    }
}

struct HostDNSShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Read back the SRV records DNS holds in each domain; this host's record is marked with '*'."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The activation port (default: the port of the listen setting).") var port: Int?

    func run() throws {
        try Output.run(json: output.json) {
            let shown = try HostDNSContext(host: host, port: port ?? 1).publisher.show()
            Output.emit(["domains": shown], json: output.json) {
                shown.map { domain in
                    var lines = ["\(domain.owner)"]
                    if let error = domain.error { lines.append("  (\(error))") }
                    for record in domain.records {
                        lines.append("  \(record.mine ? "*" : " ") SRV \(record.record)  ttl \(record.ttl)")
                    }
                    if domain.records.isEmpty, domain.error == nil { lines.append("  (no SRV records)") }
                    if let mine = domain.published {
                        lines.append("  this host published \(mine.srvText) at \(Output.iso(mine.published))")
                    }
                    return lines.joined(separator: "\n")
                }.joined(separator: "\n")
            }
        }
    }
}
