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
    let store: SQLiteHostStore?

    init(host: HostOptions, port: Int?) throws {
        let settings = try HostSettings.load(from: host.directory)
        let listenPort = (try? BindAddress(settings.listen))?.port ?? 0
        let chosen = port ?? listenPort
        guard (1...65_535).contains(chosen) else {
            throw TallyError(.usageError, "the listen setting has port \(listenPort), which cannot be published",
                             remedy: "Give the port the host serves on: `--port PORT`.")
        }
        // Events go to the host's store, created if the host has not served yet.
        store = try? SQLiteHostStore(path: host.directory.file(HostRuntime.storeFile).path)
        publisher = DNSPublisher(directory: host.directory, settings: settings, port: chosen)
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
        discussion: "Only this host's record is added or replaced; other hosts' records under the same name stay. Settings: dns-publish-list, dns-key-file, dns-primary, dns-target, dns-ttl (see `tally host set --help`)."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The activation port to publish (default: the port of the listen setting).") var port: Int?

    func run() async throws {
        try await Output.run(json: output.json) {
            let settings = try HostSettings.load(from: host.directory)
            guard settings.dnsPublishing else {
                throw TallyError(.usageError, "DNS publishing is off for this host", remedy: "Turn it on: `tally host set dns-publishing on`.")
            }
            let context = try HostDNSContext(host: host, port: port)
            let outcomes = await context.publisher.publish(recordingIn: context.store)
            Output.emit(["outcomes": outcomes], json: output.json) { HostDNSContext.text(outcomes) }
            if outcomes.contains(where: { !$0.succeeded }) { throw ExitCode(1) }
        }
    }
}

struct HostDNSUnpublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpublish",
        abstract: "Remove exactly the SRV record this host published (decommissioning); other hosts' records stay."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await Output.run(json: output.json) {
            let context = try HostDNSContext(host: host, port: 1)
            let outcomes = await context.publisher.unpublish(recordingIn: context.store)
            Output.emit(["outcomes": outcomes], json: output.json) { HostDNSContext.text(outcomes) }
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
