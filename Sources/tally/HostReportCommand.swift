import ArgumentParser
import Foundation
import TallyCore
import TallyHost
import TallyStore

struct HostReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a host-signed usage report for the vendor: distinct machines per SKU and class per day.",
        discussion: "Reports are numbered (seq) and each names the SHA-256 of the one before (prv), remembered in report-chain.json, so the vendor's `tally vendor verify-report` sees a missing or edited report. Works while the host serves."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "First day, YYYY-MM-DD (UTC).") var from: String
    @Option(help: "Last day, YYYY-MM-DD (UTC), included.") var to: String
    @Option(help: "Write the report to this file.") var out: String

    struct Result: Encodable {
        var file: String
        var seq: Int
        var from: String
        var to: String
        var rows: Int
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            let claims = try await UsageReportWriter(directory: host.directory).write(from: from, to: to, output: URL(fileURLWithPath: out),
                                                                                      store: openStore(host))
            let result = Result(file: out, seq: claims.seq, from: claims.from, to: claims.to, rows: claims.usage.count)
            Output.emit(result, json: output.json) {
                "usage report \(claims.seq) for \(claims.from) … \(claims.to) written to \(out) (\(claims.usage.count) day/SKU rows); send it to the vendor"
            }
        }
    }
}

struct HostBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the host's store into FILE, consistently, also while the host serves.",
        discussion: """
            SQLite's online backup copies the store while the host keeps answering: two files, FILE (the log of every \
            request and event) and FILE-index (clients, sightings and counts made from the log). To restore: stop the \
            host, copy the identity files (host.json, host-key, host-private.jwk, vendor-roots.json, certificate.jwt, \
            settings.json) into the state directory if they are lost too, put FILE there as host.sqlite and FILE-index \
            as host-index.sqlite (remove host.sqlite-wal, host.sqlite-shm, host-index.sqlite-wal and \
            host-index.sqlite-shm first), and start the host: it applies what the index copy lacks from the log.
            """
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The backup file to create (must not exist).") var file: String

    func run() async throws {
        try await Output.run(json: output.json) {
            let store = try openStore(host)
            _ = try await store.backup(to: file)
            let counts = try await SQLiteHostStore(path: file).tableCounts()
            Output.emit(["file": file, "counts": counts.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")], json: output.json) {
                "store backed up to \(file): " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            }
        }
    }
}
