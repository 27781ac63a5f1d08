import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TallyCore

/// The client inventory behind the event log (schema version 5, ``PostgresSchema/derivedBehindTheLog``): clients,
/// sightings, fingerprints, request totals and the hosts' last answers are brought up to date from the log's
/// 12290 events by `tally_derive`, thousands of events per statement, by one host at a time. A serving host does
/// it in the background (``DeriveService``); every read of those tables does it first, so what a reader sees
/// never waits for a round, whichever host decided.
extension PostgresHostStore {
    /// Events per round: a round holds the deriving lock (never the deciders') for a few tens of milliseconds.
    static let deriveChunk = 5_000

    /// Brings the derived tables up to date with every event committed so far (waiting for another host's round).
    public func catchUp() async throws {
        try await catchUp(deadline: configuration.maintenanceDeadline)
    }

    /// The same within `deadline` (a host closing its store waits no longer than a request would).
    func catchUp(deadline: Duration) async throws {
        try await derive("bring the client inventory up to date", wait: true, deadline: deadline)
    }

    /// Rounds on one session until one reads fewer events than a round takes (or, unless `wait`, finds another
    /// host's round running).
    private func derive(_ what: String, wait: Bool, deadline: Duration) async throws {
        try await pool.withSession(what, deadline: deadline, on: .itsLoop) { session in
            while try await self.deriveRound(wait: wait, session: session) >= PostgresHostStore.deriveChunk {}
        }
    }

    /// One round; returns the events it read (−1: another host is running one, and `wait` is false). The clone
    /// candidates it finds go to clone detection.
    func deriveRound(wait: Bool, session: PostgresConnection) async throws -> Int {
        var applied = 0
        var found: [CloneCandidate] = []
        let rows = try await session.query("""
            SELECT r_cmid, r_prints, r_time, r_applied FROM tally_derive(\(PostgresSchema.LockKey.deriving), \(wait), \(Int32(PostgresHostStore.deriveChunk)))
            """, logger: logger)
        for try await (cmid, prints, time, count) in rows.decode((String?, [String]?, Double, Int64).self) {
            if let cmid {
                let seen = Date(timeIntervalSince1970: time)
                found.append(CloneCandidate(cmid: cmid, day: CountWindow.day(of: seen), time: seen, fingerprints: (prints ?? []).sorted()))
            } else {
                applied = Int(count)
            }
        }
        if !found.isEmpty {
            let arrived = found.sorted { $0.cmid < $1.cmid }
            candidates.withLock { $0 = Array(($0 + arrived).suffix(10_000)) }
            candidatesArrived.signal()
        }
        return applied
    }

    /// Derives in the background while the host serves: a round every `interval` (rounds another host is running
    /// are left to it), so that under load a round applies a few hundred events (about 10 ms in PostgreSQL) rather
    /// than thousands at once. A failed round (the store down) is retried at the next.
    struct DeriveService: Service {
        let store: PostgresHostStore
        var interval: Duration = .milliseconds(100)

        func run() async throws {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard !Task.isCancelled else { break }
                    await store.backgroundRound()
                }
            }
        }
    }

    /// One background round. A failure is logged once as a warning (decisions go on; the inventory waits) and its
    /// end once as a notice, not a line per round.
    func backgroundRound() async {
        do {
            try await derive("derive the client inventory", wait: false, deadline: configuration.maintenanceDeadline)
            if deriveFailing.withLock({ failing in defer { failing = false }; return failing }) {
                logger.notice("the client inventory is derived from the event log again")
            }
        } catch {
            if !deriveFailing.withLock({ failing in defer { failing = true }; return failing }) {
                logger.warning("could not derive the client inventory from the event log; activations go on, and the next rounds retry",
                               metadata: ["error": "\(error)"])
            }
        }
    }
}
