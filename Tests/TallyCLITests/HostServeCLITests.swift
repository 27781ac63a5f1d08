import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` as a real process, driven by the client verbs, also real processes.
@Suite("CLI: host serve with client verbs, SIGHUP and SIGTERM", .serialized)
struct HostServeCLITests {
    /// A vendor and an activated host made with the CLI in `cli`'s directory.
    static func activatedHost(_ cli: CLIRunner) throws {
        try cli.run("vendor", "init", "--state-dir", "v")
        let key = try #require(try cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2026", "--json").json()["key"] as? String)
        try cli.run("host", "install-key", key, "--state-dir", "h", "--vendor-jwk", "v/vendor-public.jwk")
        try cli.run("host", "activate", "--state-dir", "h", "--offline-request", "req.jwt")
        try cli.run("vendor", "activate-host", "req.jwt", "--out", "cert.jwt", "--state-dir", "v")
        #expect(try cli.run("host", "activate", "--certificate", "cert.jwt", "--state-dir", "h").status == 0)
        // No DNS in these tests: publishing would add a 12293 event (no key configured) to the counts below.
        #expect(try cli.run("host", "set", "dns-publishing", "off", "--state-dir", "h").status == 0)
    }

    /// The setup key of the studio-server SKU, from the client profile `activatedHost` made.
    static func serverSetupKey(_ cli: CLIRunner) throws -> String {
        let profile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.path("v/client-profile.json")))) as! [String: Any]
        return try #require((profile["skus"] as? [[String: Any]])?.first { $0["id"] as? String == "studio-server" }?["setupKey"] as? String)
    }

    /// Starts `tally host serve` on port 0 and reads the port from its first line.
    static func serve(_ cli: CLIRunner) throws -> (Process, Int, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["host", "serve", "--state-dir", cli.path("h"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                             "--log-level", "error"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("listening on 127.0.0.1:"), "\(text)")
        let port = Int(line.split(separator: ":").last ?? "") ?? 0
        return (process, port, out)
    }

    @Test("five server machines through the CLI: refusals with counts, then Licensed; SIGHUP applies a new interval; SIGTERM stops cleanly")
    func serveAndClients() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try Self.activatedHost(cli)
        let setupKey = try HostServeCLITests.serverSetupKey(cli)

        let (server, port, _) = try Self.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        #expect(port > 0)

        var results: [String] = []
        for i in 1...5 {
            // Each state directory is a machine to the host (its own CMID); the profile comes from outside the state.
            let env = ["TALLY_MACHINE_NAME": "pc-\(i)", "TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
            let dir = "c\(i)"
            #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json", "--state-dir", dir], environment: env).status == 0)
            #expect(try cli.run(["client", "skms", "127.0.0.1:\(port)", "--state-dir", dir], environment: env).status == 0)
            let ato = try cli.run(["client", "ato", "--state-dir", dir], environment: env)
            #expect(ato.status == (i < 5 ? 1 : 0), "\(ato.stdout)\(ato.stderr)")
            let dli = try cli.run(["client", "dli", "--json", "--state-dir", dir], environment: env).json()
            results.append(dli["lastResult"] as? String ?? "?")
            #expect(dli["hostCount"] as? Int == i)
            #expect(dli["requiredCount"] as? Int == 5)
            #expect(dli["cmid"] as? String != nil)
            #expect(dli["sku"] as? String == "studio-server")
            #expect((dli["host"] as? String)?.contains("\(port)") == true)
            #expect(dli["licenseStatus"] as? String == (i < 5 ? "Initial grace" : "Licensed"))
            if i == 5 { #expect(dli["expires"] as? String != nil) }
        }
        #expect(results == ["0xC004F038", "0xC004F038", "0xC004F038", "0xC004F038", "0x00000000"])

        // A new renewal interval reaches clients after SIGHUP.
        #expect(try cli.run("host", "set", "renewal-interval", "1440", "--state-dir", "h").status == 0)
        kill(server.processIdentifier, SIGHUP)
        var renewal = 0
        for _ in 0..<50 where renewal != 1440 {
            let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
            _ = try cli.run(["client", "ato", "--state-dir", "c1"], environment: env)
            renewal = try cli.run(["client", "dli", "--json", "--state-dir", "c1"], environment: env).json()["renewalInterval"] as? Int ?? 0
        }
        #expect(renewal == 1440)

        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)

        let status = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        let server5 = try #require((status["classes"] as? [String: [String: Int]])?["server"])
        #expect(server5 == ["currentCount": 5, "requiredCount": 5])
        #expect((status["totalRequests"] as? Int ?? 0) >= 6)
        #expect(status["renewalInterval"] as? Int == 1440)

        let clients = try cli.run("host", "clients", "--state-dir", "h", "--json").json()
        #expect((clients["clients"] as? [[String: Any]])?.count == 5)
        let csv = try cli.run("host", "events", "--state-dir", "h", "--format", "csv").stdout.split(separator: "\n")
        #expect(csv.first?.hasPrefix("seq,id,time,result") == true)
        #expect(csv.dropFirst().allSatisfy { $0.contains(",12290,") })
        #expect(csv.count - 1 == status["totalRequests"] as? Int)
        let jsonl = try cli.run("host", "events", "--state-dir", "h", "--format", "jsonl", "--id", "12290").stdout.split(separator: "\n")
        #expect(jsonl.count == csv.count - 1)
    }

    @Test("a host setting with a bad value is refused and the file is unchanged")
    func badSetting() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try Self.activatedHost(cli)
        let bad = try cli.run("host", "set", "activation-interval", "5", "--state-dir", "h")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("15...43200"))
        let unknown = try cli.run("host", "set", "colour", "blue", "--state-dir", "h")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no setting named"))
        #expect(try cli.run("host", "status", "--state-dir", "h", "--json").json()["activationInterval"] as? Int == 120)
    }
}
