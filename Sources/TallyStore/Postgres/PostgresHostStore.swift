import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TallyCore

/// The store shared by several hosts, in PostgreSQL: one count per class, one client inventory, one event log.
///
/// Unlike the SQLite store it keeps no decision memory: each batch is one statement (`CALL tally_decide_commit`,
/// see ``decide(_:context:now:)``) whose transaction first takes the deciders' advisory lock (so the batches of
/// every host are decided one at a time, in one order) and the database's clock (one clock), decides the batch's
/// requests by the activation policy's table against the counts in the tables, writes their 12290 events and what
/// the next decisions read, and commits (which releases the lock); the statement then waits for the flush past
/// that commit, and only then returns the decisions. A batch is answered only once its commit is known; one whose
/// commit failed (even with the outcome unknown) is answered 503 and never granted, and the next batch reads the
/// counts afresh, so it is decided on whatever the database holds. The client inventory (clients, sightings,
/// fingerprints, totals) is derived from the 12290 events behind the decisions (``catchUp()``).
public final class PostgresHostStore: HostStore {
    public let configuration: PostgresStoreConfiguration
    /// The schema version the store had once this host opened it.
    public let schemaVersion: Int
    let pool: PostgresSessionPool
    let logger: Logger
    let candidates = LockedValue<[CloneCandidate]>([])
    let candidatesArrived = AsyncSignal()
    /// When this host last warned that its clock is off the database's (at most hourly).
    let skewWarned = LockedValue<Date?>(nil)
    /// Whether the last background round of deriving the inventory failed (logged once, see ``backgroundRound()``).
    let deriveFailing = LockedValue(false)
    /// How far the host's clock may be off the database's before it warns.
    public static let clockSkewWarning: TimeInterval = 5

    private init(configuration: PostgresStoreConfiguration, pool: PostgresSessionPool, schemaVersion: Int, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.schemaVersion = schemaVersion
        self.logger = logger
    }

    /// Connects, migrates the schema (under its lock), and checks that the store is this licence's: the first
    /// host writes `site` into it; a host of another licence is refused (0xC0A70011, event 12291 in the store).
    /// Without a site (a host holding no valid certificate) the licence is not checked.
    public static func open(_ configuration: PostgresStoreConfiguration, site: StoreSite?, logger: Logger = Logger(label: "tally.store")) async throws -> PostgresHostStore {
        let pool = try PostgresSessionPool(configuration: configuration, logger: logger)
        do {
            // Opening may wait for another host's migration: a longer bound than a request's.
            let version = try await pool.withSession("open the store", deadline: .seconds(30)) { session in
                let version = try await PostgresSchema.migrate(session, logger: logger)
                if let site { try await PostgresHostStore.claim(site, session: session, configuration: configuration, logger: logger) }
                guard configuration.serving else { return version }
                try await session.query("""
                    INSERT INTO hosts (host_id, address, started) VALUES (\(configuration.hostID), \(configuration.hostAddress), extract(epoch from now()))
                    ON CONFLICT (host_id) DO UPDATE SET address = excluded.address, started = excluded.started
                    """, logger: logger)
                let joined = TallyEvent(id: .hostJoinedStore, time: Date(), fields: ["host": configuration.hostID, "address": configuration.hostAddress,
                                                                                    "schema": String(version)])
                try await PostgresHostStore.insert([joined], hostID: configuration.hostID, session: session, logger: logger)
                return version
            }
            return PostgresHostStore(configuration: configuration, pool: pool, schemaVersion: version, logger: logger)
        } catch {
            await pool.close()
            throw error
        }
    }

    /// Writes the site on first use, or refuses a host of another licence.
    private static func claim(_ site: StoreSite, session: PostgresConnection, configuration: PostgresStoreConfiguration, logger: Logger) async throws {
        try await session.query("""
            INSERT INTO site (id, hkh, thresholds, created) VALUES (1, \(site.hostKeyHash), \(site.thresholds), extract(epoch from now()))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
        var stored: StoreSite?
        for try await (hkh, thresholds) in try await session.query("SELECT hkh, thresholds FROM site WHERE id = 1", logger: logger).decode((String, String).self) {
            stored = StoreSite(hostKeyHash: hkh, thresholdsText: thresholds)
        }
        guard let stored, let reason = stored.refusal(of: site) else { return }
        let failure = TallyError(.storeOfAnotherLicence, "this host may not use the store \(configuration.url): \(reason)",
                                 remedy: "Point this host at its own licence's store, or activate it with the host key the store's hosts use.")
        // The store's own administrators see the refusal too.
        let event = TallyEvent(id: .hostStartFailed, time: Date(), result: failure.code,
                               fields: ["message": failure.message, "remedy": failure.remedy, "host": configuration.hostID])
        try? await PostgresHostStore.insert([event], hostID: configuration.hostID, session: session, logger: logger)
        throw failure
    }

    public func services() -> [any Service] { [DeriveService(store: self)] }

    public func takeCloneCandidates() -> [CloneCandidate] {
        candidates.withLock { candidates in
            defer { candidates = [] }
            return candidates
        }
    }

    public func cloneCandidatesArrive() async { await candidatesArrived.wait() }

    public func close() async throws {
        // What this host decided reaches the client inventory before it goes (a store that went away: the next
        // host's round or read derives it).
        try? await catchUp(deadline: configuration.deadline)
        await pool.close()
    }

    /// Round trips to PostgreSQL of every session so far (``PostgresRoundTrips``).
    public var roundTrips: Int? { pool.roundTrips.total }

    /// The event loop of the activation path's sessions (``PostgresSessionPool/decidersLoop``).
    public var commitExecutor: (any TaskExecutor)? { pool.decidersExecutor }
    /// Most of a batch's CPU, here and in PostgreSQL, is per statement, not per request.
    public var batchesCostRoundTrips: Bool { true }

    /// The database's time now.
    public func databaseTime() async throws -> Date {
        try await pool.withSession("read the database's clock") { [logger] session in
            for try await seconds in try await session.query("SELECT extract(epoch from clock_timestamp())::float8", logger: logger).decode(Double.self) {
                return Date(timeIntervalSince1970: seconds)
            }
            return Date()
        }
    }

    /// The day whose window a read at `now` looks at: the database's day, or the caller's under ``PostgresStoreConfiguration/Clock/caller``.
    func today(_ now: Date, session: PostgresConnection) async throws -> Int {
        guard configuration.clock == .database else { return CountWindow.day(of: now) }
        for try await seconds in try await session.query("SELECT extract(epoch from now())::float8", logger: logger).decode(Double.self) {
            return CountWindow.day(of: Date(timeIntervalSince1970: seconds))
        }
        return CountWindow.day(of: now)
    }
}
