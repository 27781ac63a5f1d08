import Foundation
import Testing
import TallyCore
import PostgresNIO
import TallyPostgresTestSupport
@testable import TallyStore
import TallyTestSupport

/// What only a shared store does: several hosts deciding one count, the database's clock, the schema's version
/// and migrations, the licence check, a stopped PostgreSQL.
@Suite("PostgreSQL store: several hosts, one count", .serialized)
struct PostgresStoreTests {
    let fixture: ActivatedHost
    let cluster: PostgresCluster
    let url: String

    init() throws {
        fixture = try ActivatedHost()
        cluster = try PostgresCluster.shared()
        url = try cluster.makeDatabase(PostgresCluster.uniqueDatabase("pg"))
    }

    var site: StoreSite { StoreSite(certificate: fixture.certificate.claims) }
    /// The database's name, for `cluster.psql`.
    var database: String { String(url.split(separator: "/").last!) }

    func open(_ hostID: String, clock: PostgresStoreConfiguration.Clock = .database, serving: Bool = true) async throws -> PostgresHostStore {
        try await PostgresHostStore.open(try StoreKind.configuration(url, hostID: hostID, clock: clock, serving: serving), site: site)
    }

    func input(_ cmid: String, at time: Date = Date()) -> ActivationInput {
        ActivationInput(request: PolicyRequest(cmid: cmid, sku: "studio-pro", fingerprint: "fpr-\(cmid)", clientTime: time),
                        machine: "m", licenseStatus: "Initial grace", address: "192.0.2.7")
    }

    var context: DecisionContext {
        DecisionContext(certificate: fixture.certificate.claims, intervals: ClientIntervals(), policy: ActivationPolicy(newMachineBudget: .unlimited))
    }

    @Test("three hosts, 40 machines asking at once: counts 1…40 each exactly once, the 25th machine gets the first ticket")
    func threeHostsOneCount() async throws {
        let hosts = [try await open("host-a"), try await open("host-b"), try await open("host-c")]
        let context = context
        let decided = try await withThrowingTaskGroup(of: [StoredDecision].self) { group in
            // Each host decides its share in batches of 2 or 3, all three at once.
            for (index, host) in hosts.enumerated() {
                let mine = (0..<40).filter { $0 % 3 == index }.map { input("machine-\($0)") }
                group.addTask {
                    var decisions: [StoredDecision] = []
                    for start in stride(from: 0, to: mine.count, by: 2 + index % 2) {
                        decisions += try await host.decide(Array(mine[start..<min(start + 2 + index % 2, mine.count)]), context: context, now: Date())
                    }
                    return decisions
                }
            }
            var all: [StoredDecision] = []
            for try await decisions in group { all += decisions }
            return all
        }
        #expect(decided.map(\.decision.currentCount).sorted() == Array(1...40))
        let bySeq = decided.sorted { $0.seq < $1.seq }
        #expect(bySeq.map(\.decision.currentCount) == Array(1...40))
        #expect(bySeq.firstIndex { $0.decision.grantsTicket } == 24)
        #expect(try await hosts[1].counts(now: Date())["client"] == 40)
        let events = try await hosts[2].events(EventQuery(id: .requestHandled, limit: 100))
        #expect(Set(events.compactMap { $0.event.fields["host"] }) == ["host-a", "host-b", "host-c"])
        #expect(try await hosts[0].hosts().map(\.id) == ["host-a", "host-b", "host-c"])
        for host in hosts { try await host.close() }
    }

    @Test("the database's clock decides: a host whose clock is 3 days off still records today's day and the database's time")
    func databaseClock() async throws {
        let store = try await open("host-skewed")
        let skewed = Date().addingTimeInterval(3 * 86_400)
        let decided = try await store.decide([input("clocked")], context: context, now: skewed)
        let databaseNow = try await store.databaseTime()
        #expect(abs(decided[0].time.timeIntervalSince(databaseNow)) < 60)
        let today = CountWindow.day(of: databaseNow)
        #expect(try await store.usage(fromDay: today, toDay: today).first?.machines == 1)
        #expect(try await store.usage(fromDay: today + 1, toDay: today + 5).isEmpty)
        // The skew is reported once (event 12305), not per batch.
        _ = try await store.decide([input("clocked-again")], context: context, now: skewed)
        let skews = try await store.events(EventQuery(id: .storeClockSkew, limit: 10))
        #expect(skews.count == 1)
        #expect(skews.first?.event.fields["host"] == "host-skewed")
        try await store.close()
    }

    @Test("two hosts migrating an empty database at once: one schema, both open")
    func concurrentMigration() async throws {
        let configurations = [try StoreKind.configuration(url, hostID: "host-1", clock: .database, serving: true),
                              try StoreKind.configuration(url, hostID: "host-2", clock: .database, serving: true)]
        let site = site
        let stores = try await withThrowingTaskGroup(of: PostgresHostStore.self) { group in
            for configuration in configurations { group.addTask { try await PostgresHostStore.open(configuration, site: site) } }
            var opened: [PostgresHostStore] = []
            for try await store in group { opened.append(store) }
            return opened
        }
        #expect(stores.map(\.schemaVersion) == [PostgresSchema.latest, PostgresSchema.latest])
        #expect(try cluster.psql("SELECT COUNT(*) FROM tally_schema", database: database) == "\(PostgresSchema.latest)")
        for store in stores { try await store.close() }
    }

    @Test("a schema newer than this Tally knows is refused with 0xC0A70010, and left as it was")
    func newerSchemaRefused() async throws {
        try await open("host-1").close()
        try cluster.psql("INSERT INTO tally_schema (version, name, applied) VALUES (99, 'from-the-future', 0)", database: database)
        await #expect(throws: TallyError.self) { _ = try await open("host-2") }
        do { _ = try await open("host-2") } catch let error as TallyError { #expect(error.code == .storeSchemaNewer) }
        #expect(try cluster.psql("SELECT COUNT(*) FROM tally_schema", database: database) == "\(PostgresSchema.latest + 1)")
    }

    @Test("a store of schema version 1 (before the site's report chain) migrates to the newest in place: its site gets an id, its count is kept")
    func versionOneMigrates() async throws {
        let store = try await open("host-1")
        _ = try await store.decide([input("c-1")], context: context, now: Date())
        try await store.close()
        // What a store written by the first PostgreSQL version holds: no report chain, no site id.
        try cluster.psql("""
            DROP PROCEDURE tally_decide_commit; DROP FUNCTION tally_decide; DROP FUNCTION tally_derive; DROP TABLE machine_last; DROP TABLE derived; CREATE INDEX clients_by_cmid_class ON clients (cmid, class, last_day);
            ALTER TABLE events DROP COLUMN sku, DROP COLUMN cmid, DROP COLUMN class, DROP COLUMN fingerprint, DROP COLUMN machine, DROP COLUMN counted,
                DROP COLUMN ticket_expires, DROP COLUMN license_status;
            DROP FUNCTION tally_decide_batch; DROP FUNCTION tally_lock_and_read; DROP TABLE usage_reports; ALTER TABLE site DROP COLUMN site_id;
            DELETE FROM tally_schema WHERE version >= 2
            """, database: database)
        let reopened = try await open("host-1")
        #expect(reopened.schemaVersion == PostgresSchema.latest)
        #expect(try cluster.psql("SELECT length(site_id) FROM site", database: database) == "36")
        #expect(try await reopened.counts(now: Date())["client"] == 1)
        // Version 5 decides from machine_last, made from the clients: the machine asking again is the same one.
        let again = try await reopened.decide([input("c-1"), input("c-2")], context: context, now: Date())
        #expect(again.map(\.decision.currentCount) == [1, 2])
        #expect(try await reopened.clients(ClientQuery(limit: 10)).first { $0.cmid == "c-1" }?.requests == 2)
        #expect(try await reopened.siteReportChain?.end().seq == 0)
        try await reopened.close()
    }

    @Test("a host of another licence is refused (0xC0A70011) and its refusal is event 12291 in the store; the count does not mix")
    func anotherLicenceRefused() async throws {
        let store = try await open("host-a")
        _ = try await store.decide([input("ours")], context: context, now: Date())
        let other = StoreSite(hostKeyHash: "another-host-key", thresholds: fixture.certificate.claims.thr)
        do {
            _ = try await PostgresHostStore.open(try StoreKind.configuration(url, hostID: "intruder"), site: other)
            Issue.record("a host of another licence opened the store")
        } catch let error as TallyError {
            #expect(error.code == .storeOfAnotherLicence)
            #expect(error.message.contains("another-host-key"))
        }
        let thresholds = StoreSite(hostKeyHash: site.hostKeyHash, thresholds: ["client": 5])
        await #expect(throws: TallyError.self) { _ = try await PostgresHostStore.open(try StoreKind.configuration(url, hostID: "x"), site: thresholds) }
        let refusals = try await store.events(EventQuery(id: .hostStartFailed, limit: 10))
        #expect(refusals.count == 2)
        #expect(refusals.first?.event.result == .storeOfAnotherLicence)
        #expect(try await store.counts(now: Date())["client"] == 1)
        try await store.close()
    }

    @Test("PostgreSQL stopped: a batch fails with 0xC0A70006 within about a second, nothing counted; started again: the same store decides again")
    func storeDownAndBack() async throws {
        // A cluster of its own: the shared one serves other suites running at the same time.
        let own = try PostgresCluster()
        defer { own.stop() }
        let store = try await PostgresHostStore.open(try StoreKind.configuration(own.url(), hostID: "host-a", hostTimeouts: true), site: site)
        _ = try await store.decide([input("before")], context: context, now: Date())
        try own.stopServer()
        let started = ContinuousClock.now
        do {
            _ = try await store.decide([input("while-down")], context: context, now: Date())
            Issue.record("a batch was decided while PostgreSQL was stopped")
        } catch let error as TallyError {
            #expect(error.code == .storeUnavailable)
        }
        // A stopped PostgreSQL refuses at once; the margin is for a machine busy with other suites (far under the
        // 3 s call deadline a hanging store would take).
        #expect(started.duration(to: .now) < .milliseconds(2000))
        await #expect(throws: TallyError.self) { _ = try await store.eventCount() }
        try own.start()
        let after = try await store.decide([input("after")], context: context, now: Date())
        #expect(after.first?.decision.currentCount == 2)
        #expect(try await store.clients(ClientQuery(limit: 10)).map(\.cmid).sorted() == ["after", "before"])
        try await store.close()
    }

    @Test("a URL with a password, a password file others may read, and a bad URL are refused with clear errors")
    func settingsRefused() throws {
        #expect(throws: TallyError.self) { try PostgresStoreURL(parsing: "postgresql://tally:secret@db:5432/tally") }
        do { _ = try PostgresStoreURL(parsing: "postgresql://tally:secret@db:5432/tally") } catch { #expect(error.code == .storeSettingRefused) }
        #expect(throws: TallyError.self) { try PostgresStoreURL(parsing: "mysql://tally@db/tally") }
        #expect(throws: TallyError.self) { try PostgresStoreURL(parsing: "postgresql://tally@db:99999/tally") }
        let url = try PostgresStoreURL(parsing: "postgresql://tally@db.example.com:6432/site")
        #expect(url == PostgresStoreURL(user: "tally", host: "db.example.com", port: 6432, database: "site"))
        let file = fixture.temp.path("pgpass")
        try "s3cret\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        #expect(throws: TallyError.self) { try PostgresStoreConfiguration.password(file: file, url: url) }
        chmod(file, 0o600)
        #expect(try PostgresStoreConfiguration.password(file: file, url: url) == "s3cret")
        let pgpass = fixture.temp.path("dot-pgpass")
        try "other:*:*:*:no\ndb.example.com:6432:*:tally:fr\\:om-pgpass\n".write(toFile: pgpass, atomically: true, encoding: .utf8)
        #expect(try PostgresStoreConfiguration.password(file: nil, url: url, environment: ["PGPASSFILE": pgpass]) == "fr:om-pgpass")
        #expect(try PostgresStoreConfiguration.password(file: nil, url: url, environment: ["PGPASSWORD": "env"]) == "env")
    }

    @Test("migration from SQLite: counts compared; a non-empty target refused (0xC0A70013); merging a second host's store counts a shared machine once")
    func migrateFromSQLite() async throws {
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        func sqlite(_ name: String, machines: [String]) async throws -> SQLiteHostStore {
            let store = try SQLiteHostStore(path: fixture.temp.path(name))
            let yesterday = now.addingTimeInterval(-86_400)
            _ = try await store.decide(machines.map { input($0, at: yesterday) }, context: context, now: yesterday)
            _ = try await store.decide(machines.map { input($0, at: now) }, context: context, now: now)
            return store
        }
        let first = try await sqlite("a.sqlite", machines: (1...10).map { "m-\($0)" })
        let target = try await open("migrator", clock: .caller, serving: false)
        let copied = try await target.importStore(first, merge: false)
        #expect(copied.source["clients"] == 10)
        #expect(try await target.clientCount() == 10)
        #expect(try await target.eventCount() == 20)
        #expect(try await target.counts(now: now) == first.counts(now: now))
        #expect(try await target.usage(fromDay: CountWindow.day(of: now) - 1, toDay: CountWindow.day(of: now)) == first.usage(fromDay: CountWindow.day(of: now) - 1, toDay: CountWindow.day(of: now)))
        #expect(try await target.totals() == first.totals())
        // Again without --merge: refused, nothing changed.
        do {
            _ = try await target.importStore(first, merge: false)
            Issue.record("a non-empty target was written")
        } catch let error as TallyError {
            #expect(error.code == .storeTargetNotEmpty)
        }
        #expect(try await target.eventCount() == 20)
        // A second host's store, sharing machines m-6…m-10: merged, each machine once.
        let second = try await sqlite("b.sqlite", machines: (6...15).map { "m-\($0)" })
        _ = try await target.importStore(second, merge: true)
        #expect(try await target.clientCount() == 15)
        #expect(try await target.counts(now: now)["client"] == 15)
        #expect(try await target.eventCount() == 40)
        #expect(try await target.clients(ClientQuery(limit: 100)).first { $0.cmid == "m-7" }?.requests == 4)
        // The next decision continues the merged count.
        let next = try await target.decide([input("m-16")], context: context, now: now)
        #expect(next.first?.decision.currentCount == 16)
        for store in [first, second] { try await store.close() }
        try await target.close()
    }

    @Test("a round that derives the inventory and fails (a write refused) moves nothing: decisions go on, and the next round applies every event once")
    func failedDeriveRoundMovesNothing() async throws {
        let lines = LogLines()
        let store = try await PostgresHostStore.open(try StoreKind.configuration(url, hostID: "host-1", clock: .database), site: site, logger: lines.logger("store"))
        _ = try await store.decide([input("d-1"), input("d-2")], context: context, now: Date())
        try await store.catchUp()
        let mark = try cluster.psql("SELECT seq FROM derived", database: database)
        // The inventory's writes fail from now on, as a full disk or a broken table would make them.
        try cluster.psql("""
            CREATE FUNCTION refuse_sighting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no space left for sightings'; END $$;
            CREATE TRIGGER refuse_sighting BEFORE INSERT ON sightings FOR EACH ROW EXECUTE FUNCTION refuse_sighting();
            """, database: database)
        let decided = try await store.decide([input("d-3"), input("d-2")], context: context, now: Date())
        #expect(decided.map(\.decision.currentCount) == [3, 3])
        await #expect(throws: TallyError.self) { _ = try await store.clients(ClientQuery(limit: 10)) }
        #expect(try cluster.psql("SELECT seq FROM derived", database: database) == mark)
        #expect(try cluster.psql("SELECT COUNT(*) FROM clients", database: database) == "2")
        #expect(try cluster.psql("SELECT SUM(requests) FROM request_totals", database: database) == "2")
        // The background rounds fail too: one warning, however many rounds.
        for _ in 0..<3 { await store.backgroundRound() }
        #expect(lines.all.filter { $0.hasPrefix("warning: could not derive the client inventory") }.count == 1, "\(lines.all)")
        // Deciding never waited for the inventory: the count goes on.
        #expect(try await store.decide([input("d-4")], context: context, now: Date()).first?.decision.currentCount == 4)
        try cluster.psql("DROP TRIGGER refuse_sighting ON sightings", database: database)
        await store.backgroundRound()
        #expect(lines.all.filter { $0.hasPrefix("notice: the client inventory is derived from the event log again") }.count == 1, "\(lines.all)")
        let clients = try await store.clients(ClientQuery(limit: 10))
        #expect(clients.map(\.cmid).sorted() == ["d-1", "d-2", "d-3", "d-4"])
        #expect(clients.first { $0.cmid == "d-2" }?.requests == 2)
        #expect(try await store.totals().values.reduce(0, +) == 5)
        #expect(try cluster.psql("SELECT COUNT(*) FROM sightings", database: database) == "4")
        try await store.close()
    }

    @Test("a PostgreSQL backend that stops answering mid-batch (SIGSTOP): the batch fails at the deadline with its reason, nothing is granted, and a fresh session decides the next")
    func stoppedBackendTimesOutAtTheDeadline() async throws {
        var configuration = try StoreKind.configuration(url, hostID: "host-stopped", clock: .database, serving: false)
        configuration.deadline = .milliseconds(800)
        configuration.maxConnections = 1
        let store = try await PostgresHostStore.open(configuration, site: site)
        _ = try await store.decide([input("s-1")], context: context, now: Date())
        // The pool's one session is idle now; its backend stops, as a PostgreSQL frozen by its machine would.
        let pid = try cluster.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'tally-host host-stopped'", database: database)
        #expect(Int32(pid) != nil, "the host's backend: \(pid)")
        guard let backend = Int32(pid) else { return }
        #expect(kill(backend, SIGSTOP) == 0)
        defer { kill(backend, SIGCONT) }
        let failure = await #expect(throws: TallyError.self) { _ = try await store.decide([input("s-2")], context: context, now: Date()) }
        #expect(failure?.code == .storeUnavailable)
        #expect(failure?.message.contains("did not answer within") == true, "\(String(describing: failure))")
        // Resumed, the backend finds its client gone. It may still run and commit the batch it had been sent:
        // that batch's outcome was unknown to the host, which is why it was answered 503 and granted nothing.
        kill(backend, SIGCONT)
        var gone = false
        for _ in 0..<200 where !gone {
            gone = try cluster.psql("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = \(backend)", database: database) == "0"
        }
        #expect(gone, "the stopped backend ends once its session is closed")
        // The next batch opens a new session; s-2 is counted once whichever way the unknown batch went.
        let next = try await store.decide([input("s-2")], context: context, now: Date())
        #expect(next.first?.decision.currentCount == 2)
        #expect(try cluster.psql("SELECT COUNT(DISTINCT cmid) FROM events WHERE event_id = 12290", database: database) == "2")
        try await store.close()
    }

    @Test("a session in use when its pool closes (a batch in flight as the host stops) is closed when released, not kept idle")
    func sessionReleasedAfterClose() async throws {
        let store = try await open("host-release", serving: false)
        let pool = store.pool
        let session = try await pool.withSession("read while the pool closes") { session in
            await pool.close()
            return session
        }
        var left = "1"
        for _ in 0..<200 where left != "0" {
            left = try cluster.psql("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'tally-host host-release'", database: database)
        }
        #expect(left == "0", "the host's sessions still open on the server after its pool closed")
        #expect(session.isClosed)
        try await store.close()
    }

    @Test("the activation path's sessions are on the deciders' loop, where the host's committer runs; other uses take any session")
    func decidersLoop() async throws {
        let store = try await open("host-loop", serving: false)
        let pool = store.pool
        #expect((store.commitExecutor as? EventLoopTaskExecutor)?.eventLoop === pool.decidersLoop)
        // Sessions for reads, held at once, so they are opened on the group's loops in turn.
        let loops = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await pool.withSession("read") { session in
                        try await Task.sleep(for: .milliseconds(200))
                        return session.eventLoop === pool.decidersLoop
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(loops.contains(false), "no session on another loop to choose from: \(loops)")
        for _ in 0..<5 {
            let onIt = try await pool.withSession("decide", on: .decidersLoop) { $0.eventLoop === pool.decidersLoop }
            #expect(onIt, "a session of the activation path on another loop, though one on the deciders' loop was idle or could be opened")
        }
        let decided = try await store.decide([input("l-1")], context: context, now: Date())
        #expect(decided.first?.decision.currentCount == 1)
        try await store.close()
    }

    @Test("clone detection across hosts: one CMID from a machine on each of two hosts is one cloned image (12300), reported once")
    func clonesAcrossHosts() async throws {
        let a = try await open("host-a")
        let b = try await open("host-b")
        let now = Date()
        func machine(_ fingerprint: String) -> ActivationInput {
            ActivationInput(request: PolicyRequest(cmid: "imaged", sku: "studio-pro", fingerprint: fingerprint, clientTime: now),
                            machine: "pc-\(fingerprint)", licenseStatus: "Initial grace", address: "192.0.2.8")
        }
        _ = try await a.decide([machine("first")], context: context, now: now)
        try await a.catchUp()
        #expect(a.takeCloneCandidates().isEmpty)
        _ = try await b.decide([machine("second")], context: context, now: now)
        // The candidate is found where the fingerprints are derived from the log: by the host that derives them.
        try await b.catchUp()
        let candidates = b.takeCloneCandidates()
        #expect(candidates.map(\.cmid) == ["imaged"])
        let event: @Sendable (CloneReport, Date) -> TallyEvent = { report, time in
            TallyEvent(id: .clonedImage, time: time, fields: ["cmid": report.image.cmid])
        }
        let reports = try await b.reportClones(candidates, event: event)
        #expect(reports.first?.image.machineCount == 2)
        #expect(Set(reports.first?.image.machines.map(\.machine) ?? []) == ["pc-first", "pc-second"])
        // The other host reporting the same candidate the same day adds nothing.
        #expect(try await a.reportClones(candidates, event: event).isEmpty)
        #expect(try await a.events(EventQuery(id: .clonedImage, limit: 10)).count == 1)
        try await a.close()
        try await b.close()
    }
}
