import Foundation
import Testing
import TallyCore
import TallyHost
import TallyPostgresTestSupport
import TallyStore
import TallyTestSupport

/// `tally_store_round_trips_total` of a live host on PostgreSQL: what `tally bench --store` divides by the grants.
@Suite("Round trips to PostgreSQL on /metrics", .serialized)
struct RoundTripsLiveTests {
    static func roundTrips(_ host: LiveHost) throws -> Int? {
        let text = try AdminHTTP.request("/metrics", port: host.adminPort).text
        #expect(text.contains("# TYPE tally_store_round_trips_total counter"))
        let hostID = try HostIdentity(directory: host.directory).info().hostID
        return text.split(separator: "\n").first { $0.hasPrefix("tally_store_round_trips_total{host=\"\(hostID)\"} ") }
            .flatMap { Int($0.split(separator: " ")[1]) }
    }

    @Test("a host on PostgreSQL exports its round trips; each activation adds at least the few of its one transaction")
    func counted() async throws {
        let cluster = try PostgresCluster.shared()
        var settings = HostSettings()
        settings.store = try cluster.makeDatabase(PostgresCluster.uniqueDatabase("trips"))
        let host = try await LiveHost(fixture: try ActivatedHost(), settings: settings)
        let before = try #require(try Self.roundTrips(host))
        #expect(before > 0, "opening the store is round trips already")
        for _ in 0..<3 {
            let (body, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: host.clock.now())
            #expect(try RawHTTPConnection(port: host.port).post(ProtocolPaths.activate, body: body, keepAlive: false).status == 200)
        }
        let after = try #require(try Self.roundTrips(host))
        // Each request is a batch of its own here (asked one after the other): the statement that decides, writes
        // and commits it (the background rounds add theirs).
        #expect(after - before >= 3, "\(before) → \(after)")
        #expect(after - before < 3 * 60, "\(before) → \(after)")
        await host.stop()
    }
}
