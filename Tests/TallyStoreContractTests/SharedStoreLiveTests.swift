import Foundation
import Testing
import TallyCore
import TallyHost
import TallyPostgresTestSupport
import TallyStore
import TallyTestSupport

/// Real hosts (`HostRuntime`s serving HTTP on loopback) on one real PostgreSQL: one count across them, and a
/// PostgreSQL stopped and started under them. Each test has a cluster of its own (one of them stops it).
@Suite("Live hosts on one PostgreSQL store", .serialized)
struct SharedStoreLiveTests {
    static func settings(_ cluster: PostgresCluster) -> HostSettings {
        var settings = HostSettings()
        settings.store = cluster.url()
        return settings
    }

    /// Posts one activation; the status, and the verified answer's result and count when it is 200.
    static func post(_ host: LiveHost, _ machine: LiveHost.Machine) throws -> (status: Int, code: String, count: Int?) {
        let (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: host.clock.now())
        let response = try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        guard response.status == 200 else {
            return (response.status, (try? response.json()["code"] as? String) ?? "", nil)
        }
        let verified = try host.result(ofAnswer: response.body, nonce: nonce, machine: machine)
        return (200, verified.claims.res.hex, verified.claims.cur)
    }

    @Test("two hosts, 25 machines asked alternately then 15 at once: one count 1…40, the 25th machine gets the first ticket, each event names its host")
    func twoHostsOneCount() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let fixture = try ActivatedHost()
        let other = try fixture.anotherHost("host-b")
        let a = try await LiveHost(fixture: fixture, settings: Self.settings(cluster))
        let b = try await LiveHost(fixture: fixture, directory: other.directory, settings: Self.settings(cluster))
        let hosts = [a, b]
        var answers: [(status: Int, code: String, count: Int?)] = []
        for index in 0..<25 { answers.append(try Self.post(hosts[index % 2], LiveHost.Machine())) }
        #expect(answers.map { $0.status } == Array(repeating: 200, count: 25))
        #expect(answers.map { $0.count } == (1...25).map { $0 })
        #expect(answers.prefix(24).allSatisfy { $0.code == ResultCode.countTooLow.hex })
        #expect(answers.last?.code == ResultCode.success.hex)
        // 15 more at once, spread over both hosts: each count once.
        let concurrent = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: 15) { index in
            concurrent.add(Result { try Self.post(hosts[index % 2], LiveHost.Machine()) })
        }
        let more = try concurrent.values.map { try $0.get() }
        #expect(more.allSatisfy { $0.status == 200 && $0.code == ResultCode.success.hex })
        #expect(more.compactMap { $0.count }.sorted() == Array(26...40))
        #expect(try await a.count("client") == 40)
        #expect(try await b.count("client") == 40)
        // Each request's event names the host that answered it; both hosts are recorded in the store.
        let events = try await b.runtime.store.events(EventQuery(id: .requestHandled, limit: 100))
        let ids = [try fixture.host.info().hostID, try other.info().hostID]
        #expect(Set(events.compactMap { $0.event.fields["host"] }) == Set(ids))
        let shared = try #require(a.runtime.store as? PostgresHostStore)
        #expect(Set(try await shared.hosts().map(\.id)) == Set(ids))
        // Each listed where it really listens, not the port 0 it was asked for.
        #expect(Set(try await shared.hosts().map(\.address)) == Set([a, b].map { "127.0.0.1:\($0.port)" }))
        // `tally host status` of either host reads the shared count.
        let status = try await HostStatusReport.read(directory: other.directory)
        #expect(status.classes["client"]?.currentCount == 40)
        #expect(Set(status.siteHosts?.map(\.id) ?? []) == Set(ids))
        // The dashboard of either host lists both.
        let page = try AdminHTTP.request("/", port: a.adminPort).text
        #expect(page.contains("Hosts serving the site"))
        #expect(ids.allSatisfy { page.contains("data-host=\"\($0)\"") })
        // Each host's /metrics labels its series with its own id: the same shared count, told apart by host.
        for (host, id) in zip([a, b], ids) {
            let metrics = try AdminHTTP.request("/metrics", port: host.adminPort).text
            #expect(metrics.contains("tally_machines_counted{host=\"\(id)\",class=\"client\"} 40"), "\(metrics)")
        }
        await a.stop()
        await b.stop()
    }

    @Test("PostgreSQL stopped under a serving host: 503 0xC0A70006 within about a second, /ready fails; started again: served, no restart")
    func storeDownAndBack() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let host = try await LiveHost(settings: Self.settings(cluster))
        #expect(try Self.post(host, LiveHost.Machine()).count == 1)
        #expect(try AdminHTTP.request("/ready", port: host.adminPort).status == 200)
        try cluster.stopServer()
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let answer = try Self.post(host, LiveHost.Machine())
            #expect(answer.status == 503)
            #expect(answer.code == ResultCode.storeUnavailable.hex)
            // A stopped PostgreSQL refuses at once; the host's bound is its 1 s connect timeout. The margin is for a
            // machine busy with other suites, and still far under the 3 s call deadline a hanging store would take.
            #expect(started.duration(to: .now) < .milliseconds(2000))
        }
        #expect(try AdminHTTP.request("/ready", port: host.adminPort).status == 503)
        try cluster.start()
        let after = try Self.post(host, LiveHost.Machine())
        #expect(after.status == 200)
        // Nothing of the refused requests was counted.
        #expect(after.count == 2)
        #expect(try AdminHTTP.request("/ready", port: host.adminPort).status == 200)
        await host.stop()
    }

    @Test("a batch whose COMMIT ends with the session (the server ends it mid-COMMIT) is answered 503, never granted; the next batch is decided on what the database holds")
    func commitLostWithTheSession() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let host = try await LiveHost(settings: Self.settings(cluster))
        #expect(try Self.post(host, LiveHost.Machine()).count == 1)
        // A deferred trigger ends the session while it commits: the host cannot know whether the commit took. The
        // backend acts on its own SIGTERM at its next check for interrupts, which without the sleep can come after
        // the commit (then the batch is durable and rightly answered); the sleep makes it come before.
        try cluster.psql("""
            CREATE FUNCTION end_session_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER end_session_at_commit AFTER INSERT ON events DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION end_session_at_commit();
            """)
        let lost = try Self.post(host, LiveHost.Machine())
        #expect(lost.status == 503 && lost.code == ResultCode.storeUnavailable.hex, "\(lost)")
        try cluster.psql("DROP TRIGGER end_session_at_commit ON events")
        // Served again on a new session, counted from what the database holds: the lost request is not in it.
        let after = try Self.post(host, LiveHost.Machine())
        #expect(after.status == 200 && after.count == 2, "\(after)")
        #expect(try cluster.psql("SELECT COUNT(*) FROM events WHERE event_id = 12290") == "2")
        await host.stop()
    }
}

/// Results collected from several threads.
final class ConcurrentResults: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var collected: [Result<(status: Int, code: String, count: Int?), any Error>] = []
    // nonisolated(unsafe): read and written only under `lock`.

    func add(_ result: Result<(status: Int, code: String, count: Int?), any Error>) {
        lock.lock()
        collected.append(result)
        lock.unlock()
    }

    var values: [Result<(status: Int, code: String, count: Int?), any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
