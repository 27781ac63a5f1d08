import Foundation
import Testing
import TallyPostgresTestSupport

/// `tally bench --store`: a bad or unreachable URL is refused before anything is set up; a tiny run on a throwaway
/// cluster reports every PostgreSQL figure, its counts right. Speed is not asserted.
@Suite("CLI: tally bench --store postgresql://…", .serialized)
struct BenchPostgresCLITests {
    @Test("a store that is not a PostgreSQL URL, or holds a password, is a usage error")
    func badURL() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        for url in ["mysql://tally@127.0.0.1/bench", "postgresql://tally:secret@127.0.0.1:5432/bench"] {
            let result = try cli.run("bench", "--store", url, "--seconds", "0.1", "--measures", "load", "--work-dir", cli.path("work"))
            #expect(result.status != 0, "\(url)")
            #expect(result.stderr.contains("store URL") || result.stderr.contains("PostgreSQL store"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: cli.path("work/this")), "nothing is set up")
        }
    }

    @Test("an unreachable store is said at once, naming it, before any host is set up")
    func unreachable() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let port = try PostgresCluster.freePort()
        let result = try cli.run("bench", "--store", "postgresql://tally@127.0.0.1:\(port)/bench", "--seconds", "0.1", "--measures", "load",
                                 "--work-dir", cli.path("work"))
        #expect(result.status != 0)
        #expect(result.stderr.contains("--store postgresql://tally@127.0.0.1:\(port)/bench"), "\(result.stderr)")
        #expect(result.stderr.contains("0xC0A70006"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.path("work/this")))
    }

    @Test("a tiny run: one host, two together and one paced on PostgreSQL, each count right, round trips counted, the ratios there")
    func tinyRun() throws {
        let cluster = try PostgresCluster.shared()
        let url = try cluster.makeDatabase(PostgresCluster.uniqueDatabase("bench"))
        // What the bench owns it empties: a table left in the database is gone afterwards.
        try cluster.psql("CREATE TABLE left_behind (x integer)", database: String(url.split(separator: "/").last!))
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let result = try cli.run("bench", "--store", url, "--seconds", "0.3", "--connections", "2", "--modes", "keepalive", "--measures", "load",
                                 "--work-dir", cli.path("work"), "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let report = try result.json()
        #expect((report["problems"] as? [String])?.isEmpty == true, "\(report["problems"] ?? "")")
        let postgres = try #require(report["postgres"] as? [String: Any])
        #expect(postgres["store"] as? String == url)
        for key in ["sqlite", "one", "two", "paced"] {
            let run = try #require(postgres[key] as? [String: Any], "\(key)")
            #expect((run["grants"] as? Int ?? 0) > 0, "\(key)")
            #expect(run["countCheck"] as? String == "ok", "\(key)")
            if key != "sqlite" { #expect((run["storeRoundTripsPerGrant"] as? Double ?? 0) > 0, "\(key)") }
        }
        #expect((postgres["two"] as? [String: Any])?["hosts"] as? Int == 2)
        let rows = try #require(postgres["rows"] as? [[String: Any]])
        let measures = Set(rows.compactMap { $0["measure"] as? String })
        for measure in ["one PostgreSQL host ÷ SQLite host (target ≥ 0.5)", "two PostgreSQL hosts together ÷ one (target ≥ 0.9)",
                        "one PostgreSQL host, paced at 50 % of its maximum: p99 from when due (target < 10)",
                        "round trips to PostgreSQL per activation: one host"] {
            #expect(measures.contains(measure), "\(measure)")
        }
        let database = String(url.split(separator: "/").last!)
        #expect(try cluster.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'left_behind'", database: database) == "0")
    }
}
