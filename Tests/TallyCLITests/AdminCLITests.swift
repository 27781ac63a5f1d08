import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The admin side of the command line against a real `tally host serve` process: status, clients and events
/// through the running host's admin API, then from the store; reports and their verification; backups.
@Suite("CLI: admin API, reports and backups", .serialized)
struct AdminCLITests {
    /// Starts `tally host serve` on port 0 and reads both lines: `listening on …` and `admin on …`.
    static func serve(_ cli: CLIRunner, _ extra: [String] = ["--admin-listen", "127.0.0.1:0"]) throws -> (process: Process, port: Int, admin: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["host", "serve", "--state-dir", cli.path("h"), "--listen", "127.0.0.1:0", "--log-level", "error"] + extra
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while text.split(separator: "\n").count < 2 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("listening on 127.0.0.1:") == true, "\(text)")
        #expect(lines.count > 1 && lines[1].hasPrefix("admin on "), "\(text)")
        let port = Int(lines.first?.split(separator: ":").last ?? "") ?? 0
        let admin = lines.count > 1 ? String(lines[1].dropFirst("admin on ".count)) : ""
        return (process, port, admin)
    }

    /// Installs the server-class setup key on simulated machines named `names` and activates each once; returns
    /// each `client ato`'s exit status (0 activated, 1 refused).
    @discardableResult
    static func activateMachines(_ cli: CLIRunner, port: Int, names: [String]) throws -> [Int32] {
        let setupKey = try HostServeCLITests.serverSetupKey(cli)
        var statuses: [Int32] = []
        for (index, name) in names.enumerated() {
            let env = ["TALLY_MACHINE_NAME": name, "TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
            let dir = "c\(index)"
            #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json", "--state-dir", dir], environment: env).status == 0)
            #expect(try cli.run(["client", "skms", "127.0.0.1:\(port)", "--state-dir", dir], environment: env).status == 0)
            statuses.append(try cli.run(["client", "ato", "--state-dir", dir], environment: env).status)
        }
        return statuses
    }

    static func writeToken(_ cli: CLIRunner) throws {
        #expect(FileManager.default.createFile(atPath: cli.path("admin-token"), contents: Data("cli-test-token-0123456789abcdefgh\n".utf8),
                                       attributes: [.posixPermissions: 0o600]))
        #expect(try cli.run("host", "set", "admin-token-file", cli.path("admin-token"), "--state-dir", "h").status == 0)
    }

    @Test("status, clients and events go through the admin API (token, 127.0.0.2) while the host serves, and read the store once it stopped")
    func throughTheAPI() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        try Self.writeToken(cli)
        #expect(try cli.run("host", "set", "admin-listen", "127.0.0.2:0", "--state-dir", "h").status == 0)
        let (server, port, admin) = try Self.serve(cli, [])
        defer { if server.isRunning { server.terminate() } }
        #expect(admin.hasPrefix("127.0.0.2:"))
        try Self.activateMachines(cli, port: port, names: ["pc-a", "pc-b", "<script>alert(1)</script>"])

        let status = try cli.run("host", "status", "--state-dir", "h")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("count (server):      3 of 5 (below threshold)") || status.stdout.contains("3 of 5"))
        #expect(status.stdout.contains("serving:              yes, activation port 127.0.0.1:\(port)"))
        #expect(status.stdout.contains("http://\(admin)/"))
        let json = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        #expect((json["classes"] as? [String: [String: Int]])?["server"] == ["currentCount": 3, "requiredCount": 5])

        let clients = try cli.run("host", "clients", "--state-dir", "h", "--json", "--class", "server").json()["clients"] as? [[String: Any]]
        #expect(Set(clients?.compactMap { $0["machine"] as? String } ?? []) == ["pc-a", "pc-b", "<script>alert(1)</script>"])
        #expect(try cli.run("host", "clients", "--state-dir", "h", "--json", "--limit", "2").json()["clients"] as? [[String: Any]] != nil)
        #expect((try cli.run("host", "clients", "--state-dir", "h", "--json", "--limit", "2").json()["clients"] as? [[String: Any]])?.count == 2)
        #expect((try cli.run("host", "clients", "--state-dir", "h", "--json", "--state", "Licensed").json()["clients"] as? [[String: Any]])?.isEmpty == true)
        // Requests only: a serving host may also have tried to publish itself in DNS (12293/12294).
        let csv = try cli.run("host", "events", "--state-dir", "h", "--format", "csv", "--id", "12290").stdout.split(separator: "\n")
        #expect(csv.count == 4)
        let all = try cli.run("host", "events", "--state-dir", "h").stdout.split(separator: "\n")
        let firstSeq = try #require(try JSONSerialization.jsonObject(with: Data(all[0].utf8)) as? [String: Any])["seq"] as? Int
        let after = try cli.run("host", "events", "--state-dir", "h", "--after", String(firstSeq ?? 0)).stdout.split(separator: "\n")
        #expect(after.count == all.count - 1)

        // The same token file answers the API directly; without it the API is closed.
        let adminPort = Int(admin.split(separator: ":").last ?? "") ?? 0
        #expect(adminPort > 0)

        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: cli.path("h/admin.json")))
        let stopped = try cli.run("host", "status", "--state-dir", "h")
        #expect(stopped.stdout.contains("serving:              no (read from the store)"))
        #expect(stopped.stdout.contains("3 of 5"))
        #expect((try cli.run("host", "clients", "--state-dir", "h", "--json").json()["clients"] as? [[String: Any]])?.count == 3)
        #expect(try cli.run("host", "events", "--state-dir", "h", "--format", "csv", "--id", "12290").stdout.split(separator: "\n").count == 4)
    }

    @Test("serve refuses a non-loopback admin address without a token file: exit 1, the reason, event 12291")
    func refusedWithoutToken() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let process = try cli.run("host", "serve", "--state-dir", "h", "--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0", "--log-level", "critical")
        #expect(process.status == 1)
        #expect(process.stderr.contains("token file"), "\(process.stderr)")
        #expect(process.stderr.contains("admin-token-file"))
        let events = try cli.run("host", "events", "--state-dir", "h", "--id", "12291").stdout
        #expect(events.contains("token file"))
    }

    @Test("report and verify-report: a chain of two verifies with totals; a tampered report and a gap exit 1")
    func reports() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let (server, port, _) = try Self.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        try Self.activateMachines(cli, port: port, names: ["r-1", "r-2"])
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let today = formatter.string(from: Date())
        for name in ["one.jwt", "two.jwt", "three.jwt"] {
            let written = try cli.run("host", "report", "--state-dir", "h", "--from", today, "--to", today, "--out", name, "--json")
            #expect(written.status == 0, "\(written.stderr)")
        }
        #expect(try cli.run("host", "report", "--state-dir", "h", "--from", today, "--to", today, "--out", "x.jwt", "--json").json()["seq"] as? Int == 4)

        let verified = try cli.run("vendor", "verify-report", "one.jwt", "two.jwt", "three.jwt", "--state-dir", "v")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("all 3 report(s) verified"))
        #expect(verified.stdout.contains("studio-server"))
        let json = try cli.run("vendor", "verify-report", "one.jwt", "two.jwt", "--state-dir", "v", "--json").json()
        let totals = json["totals"] as? [[String: Any]]
        #expect(totals?.first?["peakMachines"] as? Int == 2)

        let gap = try cli.run("vendor", "verify-report", "one.jwt", "three.jwt", "--state-dir", "v")
        #expect(gap.status == 1)
        #expect(gap.stdout.contains("FLAG     gap"))

        var text = try String(contentsOfFile: cli.path("two.jwt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // Change the signature's last two characters to two others (never to what they were).
        let original = String(text.suffix(2))
        text.removeLast(2)
        text += original == "AA" ? "QA" : "AA"
        try text.write(toFile: cli.path("bad.jwt"), atomically: true, encoding: .utf8)
        let tampered = try cli.run("vendor", "verify-report", "one.jwt", "bad.jwt", "--state-dir", "v")
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("REFUSED  bad.jwt"))
    }

    @Test("backup while serving, restore into a fresh state directory as the README says, same counts")
    func backupAndRestore() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let (server, port, _) = try Self.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        try Self.activateMachines(cli, port: port, names: ["b-1", "b-2", "b-3", "b-4"])
        let backup = try cli.run("host", "backup", "backup.sqlite", "--state-dir", "h")
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(backup.stdout.contains("4 clients"))
        #expect(try cli.run("host", "backup", "backup.sqlite", "--state-dir", "h").status == 1)
        let served = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()

        // The README's restore: the identity files and settings, and the backup as host.sqlite.
        let fresh = cli.path("restored")
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["host.json", "host-key", "host-private.jwk", "vendor-roots.json", "certificate.jwt"] {
            try FileManager.default.copyItem(atPath: cli.path("h/\(name)"), toPath: fresh + "/" + name)
        }
        try FileManager.default.copyItem(atPath: cli.path("backup.sqlite"), toPath: fresh + "/host.sqlite")
        let restored = try cli.run("host", "status", "--state-dir", "restored", "--json").json()
        #expect((restored["classes"] as? [String: [String: Int]])?["server"] == ["currentCount": 4, "requiredCount": 5])
        #expect(restored["totalRequests"] as? Int == served["totalRequests"] as? Int)
        #expect(restored["hostId"] as? String == served["hostId"] as? String)
    }
}
