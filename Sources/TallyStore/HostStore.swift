import Foundation
import ServiceLifecycle
import TallyCore

/// Everything a host reads and writes, behind one interface: the SQLite store is the embedded default, and a
/// shared store for several hosts is one more implementation (the contract tests in
/// `Tests/TallyStoreContractTests` run against every one).
///
/// The store takes undecided requests and returns committed decisions: it owns the order of decisions, so
/// with a store shared by several hosts no host's memory is the truth about the count.
public protocol HostStore: AnyObject, Sendable {
    // MARK: Activation

    /// Decides `batch` in order with the policy in `context` and makes the decisions and their 12290 events
    /// durable before returning. The policy's per-address budget of new machines (``NewMachineBudget``) is kept
    /// by the store, across the site and restarts: a new machine over it is refused uncounted, and the first
    /// refusal of an address block on a day stores event 12306 with the batch. On error nothing of the batch is stored or counted, and a later batch is
    /// decided as if it had never come. Calls are not concurrent: the host's commit pipeline makes one at a time.
    ///
    /// - Parameter now: the host's time; a store with a clock of its own (a shared database) may use that instead,
    ///   and says so in each decision's ``StoredDecision/time``.
    func decide(_ batch: [ActivationInput], context: DecisionContext, now: Date) async throws -> [StoredDecision]

    /// Distinct machines per class in the count window ending at `now`, every decision taken so far included.
    func counts(now: Date) async throws -> [String: Int]

    /// Appends events that belong to no request (start failures, DNS publishing).
    func append(_ events: [TallyEvent]) async throws

    // MARK: Reading

    /// Cumulative requests by result.
    func totals() async throws -> [ResultCode: Int]
    func clients(_ query: ClientQuery) async throws -> [ClientRecord]
    /// How many clients (CMID and SKU) the store knows.
    func clientCount() async throws -> Int
    func events(_ query: EventQuery) async throws -> [StoredEvent]
    /// The newest events, newest first.
    func newestEvents(limit: Int) async throws -> [StoredEvent]
    /// The newest event with `id`, if any (not for 12290, of which there is one per request).
    func lastEvent(_ id: EventID) async throws -> StoredEvent?
    func eventCount() async throws -> Int
    /// Distinct machines per day, SKU and class for days `fromDay...toDay`.
    func usage(fromDay: Int, toDay: Int) async throws -> [DailyUsage]
    /// Answered requests per day and result since `firstDay`.
    func resultsByDay(since firstDay: Int) async throws -> [DailyResults]
    /// Machines new to their class per day for days `fromDay...toDay` (days without any are left out), with the
    /// `busiest` address blocks of each day.
    func newMachines(fromDay: Int, toDay: Int, busiest: Int) async throws -> [DailyNewMachines]

    // MARK: Cloned images

    /// CMIDs seen with a fingerprint the store tracks (one CMID, several machines) since the last call, once
    /// they are in the store's tables.
    func takeCloneCandidates() -> [CloneCandidate]

    /// Returns when ``takeCloneCandidates()`` may have something (or the task is cancelled).
    func cloneCandidatesArrive() async

    /// Reports each candidate that has several fingerprints in the count window and a fingerprint never
    /// reported, at most once a day per CMID: its 12300 event (made by `event`) is stored with the record of
    /// what was reported, in one transaction. Returns what was reported.
    func reportClones(_ candidates: [CloneCandidate], event: @escaping @Sendable (CloneReport, Date) -> TallyEvent) async throws -> [CloneReport]

    /// Reported CMIDs that still have several fingerprints in the window, most recently reported first.
    func clonedImages(since firstDay: Int, limit: Int) async throws -> [ClonedImage]

    // MARK: Upkeep

    /// Deletes events older than `cutoff`; returns how many went.
    func deleteEvents(before cutoff: Date) async throws -> Int

    /// Deletes what is kept of machines (clients, sightings, their fingerprints, new machines per address) whose
    /// last day is before `day`, which lies before the count window; returns how many clients went.
    func deleteClients(before day: Int) async throws -> Int

    /// Brings every table derived from the event log up to date (a no-op for a store without derived tables).
    func catchUp() async throws

    /// A consistent copy of the whole store, checked, at `path` (which must not exist); returns the files written.
    func backup(to path: String) async throws -> [String]

    /// Rows per table.
    func tableCounts() async throws -> TableCounts

    /// The work this store needs done in the background while a host serves (deriving tables, checkpoints), as
    /// services for the host's service group.
    func services() -> [any Service]

    /// Finishes background work and closes the store.
    func close() async throws

    // MARK: Reports

    /// The site's usage-report chain when the store keeps one (a store shared by several hosts); `nil` when the
    /// host's own `report-chain.json` is the chain.
    var siteReportChain: (any SiteReportChain)? { get }

    /// The host listens at `address` (its real port once bound) and is about to serve: a store shared by several
    /// hosts lists it with the site's hosts; the SQLite store lays out its write-ahead log.
    func serving(at address: String) async throws

    /// Round trips to a database server so far (queries sent and answered, sessions' startups included), for
    /// `/metrics`; `nil` for a store in the process (SQLite), which makes none.
    var roundTrips: Int? { get }

    /// Where the host's committer should run, if the store has a preference: a store whose sessions live on an
    /// event loop names it, so a batch reaches its session and comes back without a hand-off between threads.
    /// Only short, non-blocking work runs there; `nil`: a queue of the host's own.
    var commitExecutor: (any TaskExecutor)? { get }

    /// Whether a batch costs about as much whatever its size, as one round trip to a database server does: the
    /// host's committer then lets the clients it just answered come back and join the next batch
    /// (`group-commit-regroup-us`). `false` for SQLite, whose commit costs grow with the batch.
    var batchesCostRoundTrips: Bool { get }
}

extension HostStore {
    public var siteReportChain: (any SiteReportChain)? { nil }
    public var roundTrips: Int? { nil }
    public var commitExecutor: (any TaskExecutor)? { nil }
    public var batchesCostRoundTrips: Bool { false }
    public func serving(at address: String) async throws {}
}
