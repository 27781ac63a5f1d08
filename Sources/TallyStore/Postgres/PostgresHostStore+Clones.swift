import Foundation
import Logging
import PostgresNIO
import TallyCore

/// Cloned images across hosts: every fingerprint a CMID was counted with is in `fingerprints`, whichever host saw
/// it, so one CMID seen on several hosts' machines is one cloned image. A report (event 12300) is made under the
/// maintenance advisory lock, in one transaction with the record of what it reported, so two hosts never
/// report the same fingerprints and a CMID is reported at most once a day.
extension PostgresHostStore {
    public func reportClones(_ candidates: [CloneCandidate], event: @escaping @Sendable (CloneReport, Date) -> TallyEvent) async throws -> [CloneReport] {
        var reports: [CloneReport] = []
        for candidate in candidates {
            // Not under the request deadline (maintenance, off the activation path): statement_timeout bounds it.
            let report = try await pool.withMaintenanceSession("record a cloned image") { [self] session -> CloneReport? in
                try await session.query("BEGIN", logger: self.logger)
                do {
                    let made = try await self.report(candidate, event: event, session: session)
                    try await session.query(made == nil ? "ROLLBACK" : "COMMIT", logger: self.logger)
                    return made
                } catch {
                    _ = try? await session.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
            if let report { reports.append(report) }
        }
        return reports
    }

    private func report(_ candidate: CloneCandidate, event: (CloneReport, Date) -> TallyEvent, session: PostgresConnection) async throws -> CloneReport? {
        try await PostgresHostStore.takeMaintenanceLock(session, logger: logger)
        for try await last in try await session.query("SELECT day FROM clone_report_days WHERE cmid = \(candidate.cmid)", logger: logger).decode(Int.self)
            where last >= candidate.day {
            return nil
        }
        let firstDay = candidate.day - Intervals.countWindowDays + 1
        let machines = try await sightings(candidate.cmid, since: firstDay, limit: SQLiteHostStore.clonesMarkedPerReport, session: session)
        let total = try await machineCount(candidate.cmid, since: firstDay, session: session)
        guard total > 1 else { return nil }
        var fresh: Set<String> = []
        for try await fingerprint in try await session.query("""
            INSERT INTO clone_reports (cmid, fingerprint, day) SELECT \(candidate.cmid), f, \(candidate.day) FROM unnest(\(machines.map(\.fingerprint))::text[]) AS t(f)
            ON CONFLICT DO NOTHING RETURNING fingerprint
            """, logger: logger).decode(String.self) {
            fresh.insert(fingerprint)
        }
        guard !fresh.isEmpty else { return nil }
        let limit = CloneLimits.listed
        let new = machines.filter { fresh.contains($0.fingerprint) }
        let listedNew = Array(new.prefix(limit))
        let listed = Set(listedNew.map(\.fingerprint))
        let shown = listedNew + machines.filter { !listed.contains($0.fingerprint) }.prefix(limit - listedNew.count)
        try await session.query("""
            INSERT INTO clone_report_days (cmid, day) VALUES (\(candidate.cmid), \(candidate.day)) ON CONFLICT (cmid) DO UPDATE SET day = excluded.day
            """, logger: logger)
        let made = CloneReport(image: ClonedImage(cmid: candidate.cmid, machines: Array(shown), machineCount: total),
                               newFingerprints: listedNew.map(\.fingerprint), newFingerprintCount: new.count)
        try await PostgresHostStore.insert([event(made, candidate.time)], hostID: configuration.hostID, session: session, logger: logger)
        return made
    }

    public func clonedImages(since firstDay: Int, limit: Int = 20) async throws -> [ClonedImage] {
        try await catchUp()
        return try await pool.withSession("list cloned images", deadline: .seconds(10)) { session in
            var cmids: [String] = []
            for try await cmid in try await session.query("SELECT cmid FROM clone_report_days ORDER BY day DESC, cmid", logger: self.logger).decode(String.self) {
                cmids.append(cmid)
            }
            var found: [ClonedImage] = []
            for cmid in cmids where found.count < limit {
                let machineCount = try await self.machineCount(cmid, since: firstDay, session: session)
                guard machineCount > 1 else { continue }
                let machines = try await self.sightings(cmid, since: firstDay, limit: CloneLimits.listed, session: session)
                found.append(ClonedImage(cmid: cmid, machines: machines, machineCount: machineCount))
            }
            return found
        }
    }

    private func machineCount(_ cmid: String, since firstDay: Int, session: PostgresConnection) async throws -> Int {
        for try await count in try await session.query("SELECT COUNT(*) FROM fingerprints WHERE cmid = \(cmid) AND last_day >= \(firstDay)", logger: logger)
            .decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    /// A CMID's machines in the window, newest first.
    private func sightings(_ cmid: String, since firstDay: Int, limit: Int, session: PostgresConnection) async throws -> [FingerprintSighting] {
        var machines: [FingerprintSighting] = []
        for try await (fingerprint, machine, lastDay) in try await session.query("""
            SELECT fingerprint, machine, last_day FROM fingerprints WHERE cmid = \(cmid) AND last_day >= \(firstDay)
            ORDER BY last_day DESC, fingerprint LIMIT \(Int64(limit))
            """, logger: logger).decode((String, String, Int).self) {
            machines.append(FingerprintSighting(fingerprint: fingerprint, machine: machine, lastDay: lastDay))
        }
        return machines
    }
}
