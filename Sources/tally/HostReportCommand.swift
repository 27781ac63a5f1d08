import ArgumentParser
import Foundation
import TallyCore
import TallyHost
import TallyStore

struct HostReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a host-signed usage report for the vendor (distinct machines per SKU and class per day), or send it online.",
        discussion: """
            Reports are numbered (seq) and each names the SHA-256 of the one before (prv), remembered in \
            report-chain.json, so the vendor sees a missing or edited report; each is also kept in reports/SEQ.jwt. \
            --send posts every report the vendor has not acknowledged (or, when none is waiting, the next one: the \
            days since the last report up to yesterday) and keeps the vendor's signed receipts in receipts/SEQ.jwt. \
            Works while the host serves.
            """
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "First day, YYYY-MM-DD (UTC).") var from: String?
    @Option(help: "Last day, YYYY-MM-DD (UTC), included.") var to: String?
    @Option(help: "Write the report to this file.") var out: String?
    @Flag(help: "Send the reports the vendor has not acknowledged to its online service and keep its receipts.") var send = false
    @Option(help: "The vendor's service URL, when the certificate carries none.") var online: String?
    @OptionGroup var link: VendorLinkOptions

    struct Result: Encodable {
        var file: String
        var seq: Int
        var from: String
        var to: String
        var rows: Int
    }

    struct Sent: Encodable {
        var seq: Int
        var from: String
        var to: String
        var acknowledged: Date
        var hash: String
    }

    func run() async throws {
        try await Output.run(json: output.json) {
            var written: Result?
            switch (from, to, out) {
            case let (from?, to?, out?):
                let claims = try await UsageReportWriter(directory: host.directory).write(from: from, to: to, output: URL(fileURLWithPath: out), store: openStore(host))
                written = Result(file: out, seq: claims.seq, from: claims.from, to: claims.to, rows: claims.usage.count)
            case (nil, nil, nil) where send:
                break
            default:
                throw TallyError(.usageError, "give --from DAY --to DAY --out FILE to write a report, and/or --send to send the reports not yet acknowledged")
            }
            guard send else {
                let result = written!
                Output.emit(result, json: output.json) {
                    "usage report \(result.seq) for \(result.from) … \(result.to) written to \(result.file) (\(result.rows) day/SKU rows); send it to the vendor"
                }
                return
            }
            let sent = try await HostOnline(directory: host.directory, settings: link.settings())
                .sendReports(url: online, store: openStore(host), writeNext: written == nil)
            let results = sent.map { Sent(seq: $0.seq, from: $0.from, to: $0.to, acknowledged: $0.receipt.iat.date, hash: $0.receipt.rh) }
            Output.emit(["sent": results], json: output.json) {
                results.isEmpty ? "nothing to send: every report is acknowledged and no whole day has passed since the last one"
                    : results.map { "report \($0.seq) (\($0.from) … \($0.to)) acknowledged by the vendor at \(Output.iso($0.acknowledged)); receipt kept in receipts/\($0.seq).jwt" }
                        .joined(separator: "\n")
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
