import Foundation
import PostgresNIO
import TallyCore

/// A batch's writes in one statement (one round trip inside the deciders' lock), as
/// data-modifying CTEs: the 12290 events and the batch's other events (12305, 12306), clients, sightings,
/// fingerprints, machines per day, new machines, request totals and the host's last answer. No CTE reads what
/// another writes (they share one snapshot), so this is the same as the statements one after the other; the
/// clone candidates' select reads the fingerprints table and the written rows, as before.
extension PostgresHostStore {
    struct BatchWritten {
        var seqs: [Int64]
        var candidates: [CloneCandidate]
    }

    func writeBatch(_ rows: [LogRow], counts: BatchCounts, otherEvents: [TallyEvent] = [], session: PostgresConnection) async throws -> BatchWritten {
        let time = rows[0].time.timeIntervalSince1970
        let day = CountWindow.day(of: rows[0].time)
        // Events.
        let results = rows.map { Int64($0.result.rawValue) }
        let fields = rows.map { row -> String in
            var fields = row.fields
            fields["host"] = configuration.hostID
            return String(decoding: JSONObjectWriter.object(fields), as: UTF8.self)
        }
        // Clients (one per CMID and SKU, requests summed) and sightings, of the counted rows.
        let counted = rows.filter { $0.counted && $0.productClass != nil }
        struct Client { var row: LogRow; var requests: Int64; var ticketExpires: Double? }
        var clientOrder: [String] = []
        var clients: [String: Client] = [:]
        for row in counted {
            let key = row.cmid + "\u{0}" + row.sku
            if var client = clients[key] {
                client.requests += 1
                client.ticketExpires = row.ticketExpires?.timeIntervalSince1970 ?? client.ticketExpires
                client.row = row
                clients[key] = client
            } else {
                clientOrder.append(key)
                clients[key] = Client(row: row, requests: 1, ticketExpires: row.ticketExpires?.timeIntervalSince1970)
            }
        }
        let list = clientOrder.compactMap { clients[$0] }
        let sightings = Array(Set(counted.map { [$0.sku, $0.cmid, $0.productClass ?? ""] }))
        // Fingerprints of the counted rows; a CMID with several is a clone candidate.
        var fingerprintOrder: [String] = []
        var latest: [String: LogRow] = [:]
        var seen: [String: [String]] = [:]
        for row in counted {
            let key = row.cmid + "\u{0}" + row.fingerprint
            if latest[key] == nil { fingerprintOrder.append(key) }
            latest[key] = row
            if !(seen[row.cmid]?.contains(row.fingerprint) ?? false) { seen[row.cmid, default: []].append(row.fingerprint) }
        }
        let prints = fingerprintOrder.compactMap { latest[$0] }
        let cmids = Array(seen.keys)
        // Machines per day.
        var dayClasses: [String] = [], days: [Int64] = [], changes: [Int64] = []
        for (productClass, byDay) in counts.deltas {
            for (changedDay, delta) in byDay where delta != 0 {
                dayClasses.append(productClass)
                days.append(Int64(changedDay))
                changes.append(Int64(delta))
            }
        }
        // New machines per address block.
        let ledger = counts.newMachines
        let blocks = Array(Set(ledger.admitted.keys).union(ledger.refused))
        // Request totals.
        var totals: [Int64: Int64] = [:]
        for row in rows { totals[Int64(row.result.rawValue), default: 0] += 1 }

        let totalResults = Array(totals.keys)
        let values = BatchWrite.Values(
            time: time, day: Int64(day), hostID: configuration.hostID, results: results, fields: fields,
            clientCMIDs: list.map(\.row.cmid), clientSKUs: list.map(\.row.sku), clientClasses: list.map { $0.row.productClass ?? "" },
            clientFingerprints: list.map(\.row.fingerprint), clientMachines: list.map(\.row.machine),
            clientResults: list.map { Int64($0.row.result.rawValue) }, clientRequests: list.map(\.requests),
            clientTicketExpiries: list.map { $0.ticketExpires ?? .nan }, clientLicenseStatuses: list.map(\.row.clientLicenseStatus),
            sightingSKUs: sightings.map { $0[0] }, sightingCMIDs: sightings.map { $0[1] }, sightingClasses: sightings.map { $0[2] },
            printCMIDs: prints.map(\.cmid), printFingerprints: prints.map(\.fingerprint), printMachines: prints.map(\.machine),
            dayClasses: dayClasses, days: days, dayChanges: changes,
            ledgerDay: Int64(ledger.day), blocks: blocks.map(\.description), blockMachines: blocks.map { Int64(ledger.admitted[$0] ?? 0) },
            blockRefused: blocks.map { ledger.refused.contains($0) },
            totalResults: totalResults, totalRequests: totalResults.map { totals[$0] ?? 0 }, candidateCMIDs: cmids,
            // -1: no result (no code is negative).
            otherIDs: otherEvents.map { Int64($0.id.rawValue) }, otherTimes: otherEvents.map { $0.time.timeIntervalSince1970 },
            otherResults: otherEvents.map { $0.result.map { Int64($0.rawValue) } ?? -1 },
            otherFields: otherEvents.map { String(decoding: JSONObjectWriter.object($0.fields), as: UTF8.self) })
        var seqs: [Int64] = []
        var several: [String] = []
        for try await row in try await session.execute(PostgresPrepared<BatchWrite>(BatchWrite.query(values)), logger: logger) {
            let (kind, value) = try row.decode((String, String).self)
            if kind == "seq", let seq = Int64(value) { seqs.append(seq) } else if kind == "several" { several.append(value) }
        }
        guard seqs.count == rows.count else {
            throw TallyError(.storeUnavailable, "the store returned \(seqs.count) sequence numbers for \(rows.count) events")
        }
        // A machine per day can only come down to zero with a negative change (a machine moved to a later day).
        if changes.contains(where: { $0 < 0 }) {
            let emptied = Array(Set(zip(dayClasses, changes).filter { $0.1 < 0 }.map(\.0)))
            try await session.query("DELETE FROM machine_days WHERE machines = 0 AND class = ANY(\(emptied)::text[])", logger: logger)
        }
        let date = rows[0].time
        return BatchWritten(seqs: seqs.sorted(), candidates: several.sorted().map { CloneCandidate(cmid: $0, day: day, time: date, fingerprints: seen[$0] ?? []) })
    }

    /// The batch's write statement, prepared once per session: every value of the batch is one of its arrays.
    enum BatchWrite: PostgresPreparedText {
        static let name = "tally_batch_write"
        static let sql = query(Values()).sql

        /// The statement's values, one array per column written (empty for placeholder values).
        struct Values {
            var time = 0.0, day: Int64 = 0, hostID = ""
            var results: [Int64] = [], fields: [String] = []
            var clientCMIDs: [String] = [], clientSKUs: [String] = [], clientClasses: [String] = [], clientFingerprints: [String] = []
            var clientMachines: [String] = [], clientResults: [Int64] = [], clientRequests: [Int64] = [], clientTicketExpiries: [Double] = []
            var clientLicenseStatuses: [String] = []
            var sightingSKUs: [String] = [], sightingCMIDs: [String] = [], sightingClasses: [String] = []
            var printCMIDs: [String] = [], printFingerprints: [String] = [], printMachines: [String] = []
            var dayClasses: [String] = [], days: [Int64] = [], dayChanges: [Int64] = []
            var ledgerDay: Int64 = 0, blocks: [String] = [], blockMachines: [Int64] = [], blockRefused: [Bool] = []
            var totalResults: [Int64] = [], totalRequests: [Int64] = [], candidateCMIDs: [String] = []
            var otherIDs: [Int64] = [], otherTimes: [Double] = [], otherResults: [Int64] = [], otherFields: [String] = []
        }

        static func query(_ v: Values) -> PostgresQuery {
            """
            WITH inserted_events AS (
                INSERT INTO events (event_id, time, result, fields, host_id)
                SELECT 12290, \(v.time), r, f, \(v.hostID) FROM unnest(\(v.results)::bigint[], \(v.fields)::text[]) WITH ORDINALITY AS t(r, f, n) ORDER BY n
                RETURNING seq),
            inserted_other AS (
                INSERT INTO events (event_id, time, result, fields, host_id)
                SELECT i, t, NULLIF(r, -1), f, \(v.hostID) FROM unnest(\(v.otherIDs)::bigint[], \(v.otherTimes)::float8[], \(v.otherResults)::bigint[], \(v.otherFields)::text[])
                    WITH ORDINALITY AS e(i, t, r, f, n) ORDER BY n
                RETURNING 1),
            written_clients AS (
                INSERT INTO clients (cmid, sku, class, fingerprint, machine, first_seen, last_seen, last_day, last_result, requests, ticket_expires, license_status)
                SELECT c, s, k, f, m, \(v.time), \(v.time), \(v.day), r, q, NULLIF(x, 'NaN'), l
                FROM unnest(\(v.clientCMIDs)::text[], \(v.clientSKUs)::text[], \(v.clientClasses)::text[],
                            \(v.clientFingerprints)::text[], \(v.clientMachines)::text[], \(v.clientResults)::bigint[],
                            \(v.clientRequests)::bigint[], \(v.clientTicketExpiries)::float8[], \(v.clientLicenseStatuses)::text[])
                    AS t(c, s, k, f, m, r, q, x, l)
                ON CONFLICT (cmid, sku) DO UPDATE SET class = excluded.class, fingerprint = excluded.fingerprint, machine = excluded.machine,
                    last_seen = excluded.last_seen, last_day = GREATEST(clients.last_day, excluded.last_day), last_result = excluded.last_result,
                    requests = clients.requests + excluded.requests, ticket_expires = COALESCE(excluded.ticket_expires, clients.ticket_expires),
                    license_status = excluded.license_status
                RETURNING 1),
            written_sightings AS (
                INSERT INTO sightings (day, sku, cmid, class)
                SELECT \(v.day), s, c, k FROM unnest(\(v.sightingSKUs)::text[], \(v.sightingCMIDs)::text[], \(v.sightingClasses)::text[]) AS t(s, c, k)
                ON CONFLICT DO NOTHING
                RETURNING 1),
            written_fingerprints AS (
                INSERT INTO fingerprints (cmid, fingerprint, machine, last_day)
                SELECT c, f, m, \(v.day) FROM unnest(\(v.printCMIDs)::text[], \(v.printFingerprints)::text[], \(v.printMachines)::text[]) AS t(c, f, m)
                ON CONFLICT (cmid, fingerprint) DO UPDATE SET machine = excluded.machine, last_day = GREATEST(fingerprints.last_day, excluded.last_day)
                RETURNING cmid, fingerprint),
            written_days AS (
                INSERT INTO machine_days (class, day, machines)
                SELECT k, d, m FROM unnest(\(v.dayClasses)::text[], \(v.days)::bigint[], \(v.dayChanges)::bigint[]) AS t(k, d, m)
                ON CONFLICT (class, day) DO UPDATE SET machines = machine_days.machines + excluded.machines
                RETURNING 1),
            written_ledger AS (
                INSERT INTO new_machines (day, block, machines, refused)
                SELECT \(v.ledgerDay), b, m, r FROM unnest(\(v.blocks)::text[], \(v.blockMachines)::bigint[],
                                                        \(v.blockRefused)::bool[]) AS t(b, m, r)
                ON CONFLICT (day, block) DO UPDATE SET machines = new_machines.machines + excluded.machines, refused = new_machines.refused OR excluded.refused
                RETURNING 1),
            written_totals AS (
                INSERT INTO request_totals (result, requests) SELECT r, n FROM unnest(\(v.totalResults)::bigint[], \(v.totalRequests)::bigint[]) AS t(r, n)
                ON CONFLICT (result) DO UPDATE SET requests = request_totals.requests + excluded.requests
                RETURNING 1),
            written_host AS (
                UPDATE hosts SET last_answer = \(v.time) WHERE host_id = \(v.hostID) RETURNING 1)
            SELECT 'seq', seq::text FROM inserted_events
            UNION ALL
            SELECT 'several', cmid FROM (
                SELECT cmid, fingerprint FROM fingerprints WHERE cmid = ANY(\(v.candidateCMIDs)::text[])
                UNION SELECT cmid, fingerprint FROM written_fingerprints) AS f
            GROUP BY cmid HAVING COUNT(*) > 1
            """
        }
    }
}
