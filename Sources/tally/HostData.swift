import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyFiles
import TallyHost
import TallyStore

/// Opens the host's store for reading commands.
func openStore(_ host: HostOptions) throws -> SQLiteHostStore {
    let path = host.directory.file(HostRuntime.storeFile).path
    guard FileManager.default.fileExists(atPath: path) else {
        throw TallyError(.notInstalled, "no store at \(path): the host has not served yet")
    }
    return try SQLiteHostStore(path: path)
}

/// Opens the store the host's settings name for reading commands: the SQLite file, or the shared PostgreSQL store.
func openReadingStore(_ host: HostOptions) async throws -> any HostStore {
    let settings = try HostSettings.load(from: host.directory)
    guard settings.store != "sqlite" else { return try openStore(host) }
    let hostID = (try? HostIdentity(directory: host.directory).info().hostID) ?? "tally-cli"
    return try await HostStoreOpening.open(settings, directory: host.directory, hostID: hostID + "-cli", certificate: nil, serving: false, logger: Logger(label: "tally.cli"))
}

struct HostClients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clients", abstract: "List the clients the host has seen, newest first.")
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Only this SKU.") var sku: String?
    @Option(name: .customLong("class"), help: "Only this product class.") var productClass: String?
    @Option(help: "Only clients in this licence state (e.g. Licensed, \"Initial grace\").") var state: String?
    @Option(help: "At most this many.") var limit = 100
    @Option(help: "Skip this many.") var offset = 0

    func run() async throws {
        try await Output.run(json: output.json) {
            var query = URLComponents()
            query.queryItems = [URLQueryItem(name: "limit", value: String(limit)), URLQueryItem(name: "offset", value: String(offset))]
                + [("sku", sku), ("class", productClass), ("state", state)].compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
            var fetched = try AdminClient.fetch(AdminClientPage.self, "/api/clients?" + (query.percentEncodedQuery ?? ""), directory: host.directory)?.clients
            if fetched == nil {
                fetched = try await readStore(host) { try await $0.clients(ClientQuery(sku: sku, productClass: productClass, licenseStatus: state, limit: limit, offset: offset)) }
            }
            let clients = fetched ?? []
            Output.emit(["clients": clients], json: output.json) {
                clients.map { c in
                    "\(c.cmid)  \(c.sku) (\(c.productClass))  \(c.lastResult.hex)  last \(Output.iso(c.lastSeen))  \(c.requests) req  \(Sanitize.terminal(c.machine))"
                }.joined(separator: "\n")
            }
        }
    }
}

/// Reads from the store the host's settings name, then closes it (a PostgreSQL store's sessions with it).
func readStore<T>(_ host: HostOptions, _ read: (any HostStore) async throws -> T) async throws -> T {
    let store = try await openReadingStore(host)
    do {
        let value = try await read(store)
        try await store.close()
        return value
    } catch {
        try? await store.close()
        throw error
    }
}

struct HostEvents: AsyncParsableCommand {
    /// From the running host's admin interface in pages of 10,000, else from the store.
    func fetchEvents(since: Date?, eventID: EventID?) async throws -> [StoredEvent] {
        guard AdminClient.endpoint(host.directory) != nil else {
            return try await readStore(host) { try await $0.events(EventQuery(since: since, afterSeq: after, id: eventID, limit: limit)) }
        }
        var events: [StoredEvent] = []
        var cursor = after
        while events.count < limit {
            var query = URLComponents()
            query.queryItems = [URLQueryItem(name: "limit", value: String(min(10_000, limit - events.count)))]
                + (since.map { [URLQueryItem(name: "since", value: ISO8601DateFormatter().string(from: $0))] } ?? [])
                + (cursor.map { [URLQueryItem(name: "after", value: String($0))] } ?? [])
                + (eventID.map { [URLQueryItem(name: "id", value: String($0.rawValue))] } ?? [])
            guard let page = try AdminClient.fetch(AdminEventPage.self, "/api/events?" + (query.percentEncodedQuery ?? ""), directory: host.directory) else {
                // The host stopped between two pages: read on from the store.
                return events + (try await readStore(host) { try await $0.events(EventQuery(since: since, afterSeq: cursor, id: eventID, limit: limit - events.count)) })
            }
            events += page.events
            guard !page.events.isEmpty else { break }
            cursor = page.lastSeq
        }
        return events
    }

    static let configuration = CommandConfiguration(commandName: "events", abstract: "Export the host's events as CSV or JSON lines.")
    @OptionGroup var host: HostOptions
    @Option(help: "csv or jsonl.") var format = "jsonl"
    @Option(help: "Only events at or after this time (ISO 8601, e.g. 2026-11-01T00:00:00Z).") var since: String?
    @Option(help: "Only events after this sequence number (the seq column).") var after: Int64?
    @Option(help: "Only this event id (e.g. 12290).") var id: Int?
    @Option(help: "At most this many.") var limit = 100_000

    func run() async throws {
        try await Output.run(json: false) {
            var sinceDate: Date?
            if let since {
                guard let date = ISO8601DateFormatter().date(from: since) else {
                    throw TallyError(.usageError, "--since must be an ISO 8601 time such as 2026-11-01T00:00:00Z")
                }
                sinceDate = date
            }
            var eventID: EventID?
            if let id {
                guard let known = EventID(rawValue: id) else { throw TallyError(.usageError, "no event id \(id)") }
                eventID = known
            }
            guard format == "csv" || format == "jsonl" else { throw TallyError(.usageError, "--format must be csv or jsonl") }
            let events = try await fetchEvents(since: sinceDate, eventID: eventID)
            if format == "csv" {
                print(EventExport.csvHeader)
                for event in events { print(EventExport.csvLine(event)) }
            } else {
                for event in events { print(EventExport.jsonLine(event)) }
            }
        }
    }
}
