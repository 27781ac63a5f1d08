import Foundation
import TallyCore
import TallyFiles
import TallyStore

extension UsageReportWriter {
    /// Writes `compact` as `folder/SEQ.jwt` in the state directory (the folder made 0700 when missing).
    func keep(_ compact: String, seq: Int, in folder: String) throws {
        let url = directory.file(folder)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw TallyError(.accessDenied, "could not create \(url.path): \(error.localizedDescription)")
        }
        try AtomicFile.write(Data((compact + "\n").utf8), to: url.appendingPathComponent("\(seq).jwt"), mode: 0o644)
    }

    /// The tokens in `folder`, by `seq`.
    func kept(in folder: String) throws -> [Int: String] {
        let url = directory.file(folder)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return [:] }
        var tokens: [Int: String] = [:]
        for name in names where name.hasSuffix(".jwt") {
            guard let seq = Int(name.dropLast(4)) else { continue }
            tokens[seq] = try String(contentsOf: url.appendingPathComponent(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return tokens
    }

    /// The reports the vendor has not acknowledged yet, oldest first: the site's, from the store, when the store
    /// keeps the chain of several hosts; else this host's own.
    public func unacknowledged(store: any HostStore) async throws -> [(seq: Int, report: String)] {
        if let site = store.siteReportChain { return try await site.unacknowledged().map { ($0.seq, $0.report) } }
        return try unacknowledged()
    }

    /// The reports of this host's own chain (`reports/`) the vendor has not acknowledged yet, oldest first.
    public func unacknowledged() throws -> [(seq: Int, report: String)] {
        let receipts = try kept(in: Self.receiptsFolder)
        let acknowledged = receipts.keys.max() ?? 0
        return try kept(in: Self.reportsFolder).filter { $0.key > acknowledged && receipts[$0.key] == nil }
            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The receipts kept, by `seq` (the site's, with a shared chain).
    public func receipts(store: any HostStore) async throws -> [Int: String] {
        if let site = store.siteReportChain { return try await site.receipts() }
        return try receipts()
    }

    /// The receipts of this host's own chain (`receipts/`), by `seq`.
    public func receipts() throws -> [Int: String] { try kept(in: Self.receiptsFolder) }

    /// Keeps the vendor's receipt for report `seq` (in the store, with a shared chain).
    func keepReceipt(_ receipt: String, seq: Int, store: any HostStore) async throws {
        if let site = store.siteReportChain { return try await site.keepReceipt(receipt, seq: seq) }
        try keep(receipt, seq: seq, in: Self.receiptsFolder)
    }

    /// The last day the chain reported (the site's, with a shared chain), `nil` before the first report.
    func lastReportedDay(store: any HostStore) async throws -> String? {
        if let site = store.siteReportChain { return try await site.end().to }
        return try chain().to
    }

    /// Signs the next report: from the day after the last report (or the first day the store has sightings for)
    /// to yesterday (UTC). `nil` when there is no whole day to report yet.
    public func writeNext(store: any HostStore, now: Date = Date()) async throws -> (claims: UsageReportClaims, report: String)? {
        let yesterday = CountWindow.day(of: now) - 1
        let first: Int
        if let to = try await lastReportedDay(store: store) {
            first = try Self.day(to) + 1
        } else {
            first = try await store.usage(fromDay: 0, toDay: yesterday).map { $0.day }.min() ?? yesterday
        }
        guard first <= yesterday else { return nil }
        guard let (claims, compact) = try await sign(first: first, last: yesterday, store: store, now: now, continuing: true) else { return nil }
        return (claims, compact)
    }
}
