import Foundation
import Testing
import TallyPostgresTestSupport

/// `tally host store migrate` and `check` as an administrator runs them, against a real PostgreSQL.
@Suite("CLI: tally host store migrate and check on PostgreSQL", .serialized)
struct StoreCLITests {
    @Test("migrate copies a SQLite store and checks its counts; a second migrate is refused without --merge; check and status read the shared store")
    func migrateThenCheck() throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        #expect(try cli.run("host", "fill", "--clients", "300", "--state-dir", "h").status == 0)
        let url = cluster.url()
        let migrated = try cli.run("host", "store", "migrate", "--to", url, "--state-dir", "h")
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("copied 300 client(s)"), "\(migrated.stdout)")
        let again = try cli.run("host", "store", "migrate", "--to", url, "--state-dir", "h")
        #expect(again.status != 0)
        #expect(again.stderr.contains("0xC0A70013"), "\(again.stderr)")
        // A URL with a password is refused before anything is written.
        let secret = try cli.run("host", "set", "store", "postgresql://tally:secret@127.0.0.1:\(cluster.port)/tally", "--state-dir", "h")
        #expect(secret.status != 0)
        #expect(secret.stderr.contains("password"), "\(secret.stderr)")
        #expect(try cli.run("host", "get", "store", "--state-dir", "h").stdout == "sqlite\n")
        #expect(try cli.run("host", "set", "store", url, "--state-dir", "h").status == 0)
        let check = try cli.run("host", "store", "check", "--state-dir", "h", "--json").json()
        #expect(check["schemaVersion"] as? Int == 9)
        #expect(check["clients"] as? Int == 300)
        let status = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        #expect(((status["classes"] as? [String: Any])?["client"] as? [String: Any])?["currentCount"] as? Int == 300)
    }
}
