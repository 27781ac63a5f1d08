import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyHost
import TallyStore

/// `tally host store`: the store the host uses, SQLite or a PostgreSQL store shared by several hosts.
struct HostStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "store", abstract: "Check the host's store (SQLite, or PostgreSQL shared by several hosts).",
                                                    subcommands: [HostStoreCheck.self, HostStoreMigrate.self])
}

struct HostStoreCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check",
                                                    abstract: "Connect to the store the settings name; print its schema version, clients and the hosts that share it.")
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var store: String
        var schemaVersion: Int?
        var clients: Int
        var events: Int
        var hosts: [Host]
        struct Host: Encodable { var id: String; var address: String; var started: String; var lastAnswer: String? }
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            let settings = try HostSettings.load(from: host.directory)
            let store = try await openReadingStore(host)
            var report = Report(store: settings.store == "sqlite" ? "sqlite (\(host.directory.file(HostRuntime.storeFile).path))" : settings.store,
                                clients: try await store.clientCount(), events: try await store.eventCount(), hosts: [])
            if let shared = store as? PostgresHostStore {
                report.schemaVersion = shared.schemaVersion
                report.hosts = try await shared.hosts().map {
                    Report.Host(id: $0.id, address: $0.address, started: Output.iso($0.started), lastAnswer: $0.lastAnswer.map { Output.iso($0) })
                }
            }
            try await store.close()
            Output.emit(report, json: output.json) {
                var lines = ["store: \(report.store)"]
                if let version = report.schemaVersion { lines.append("schema version: \(version)") }
                lines.append("clients: \(report.clients), events: \(report.events)")
                if !report.hosts.isEmpty {
                    lines.append("hosts sharing the store:")
                    lines += report.hosts.map { "  \($0.id)  \($0.address)  started \($0.started)  last answer \($0.lastAnswer ?? "never")" }
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct HostStoreMigrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate",
                                                    abstract: "Copy this host's SQLite store into a PostgreSQL store and check the counts; then `tally host set store URL`.")
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The PostgreSQL store, postgresql://USER@HOST:PORT/DB (the password from store-password-file, PGPASSWORD or ~/.pgpass).")
    var to: String
    @Flag(help: "Add this store to one that already holds data (another host's): a machine both know is counted once.")
    var merge = false

    func run() async throws {
        try await Output.run(json: output.json) {
            let source = try openStore(host)
            var settings = try HostSettings.load(from: host.directory)
            settings.store = try PostgresStoreURL(parsing: to).description
            let identity = HostIdentity(directory: host.directory)
            let hostID = try identity.info().hostID
            guard var configuration = try HostStoreOpening.postgresConfiguration(settings, directory: host.directory, hostID: hostID) else { return }
            configuration.clock = .caller
            configuration.serving = false
            let certificate = try? identity.certificate(now: Date())
            let target = try await PostgresHostStore.open(configuration, site: certificate.map { StoreSite(certificate: $0.claims) })
            let summary: PostgresHostStore.ImportSummary
            do {
                summary = try await target.importStore(source, merge: merge)
            } catch {
                try? await target.close()
                try? await source.close()
                throw error
            }
            try await target.close()
            try await source.close()
            struct Report: Encodable { var to: String; var copied: [String: Int]; var target: [String: Int] }
            let report = Report(to: configuration.url.description, copied: summary.source, target: summary.target)
            Output.emit(report, json: output.json) {
                "copied \(summary.source["clients", default: 0]) client(s), \(summary.source["sightings", default: 0]) sighting(s), "
                    + "\(summary.source["events", default: 0]) event(s) into \(configuration.url); the counts match.\n"
                    + "Now: tally host set store \(configuration.url)"
            }
        }
    }
}
