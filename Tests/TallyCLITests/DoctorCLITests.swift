import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tally doctor` as a user runs it: against a serving host, then against the same host stopped.
@Suite("CLI: doctor", .serialized)
struct DoctorCLITests {
    @Test("doctor --json on a client pinned to a serving host: one object, every check; exit 0 with a warning, 1 once the host is gone")
    func doctorJSON() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let profile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.path("v/client-profile.json")))) as! [String: Any]
        let setupKey = try #require((profile["skus"] as? [[String: Any]])?.first { $0["id"] as? String == "studio-pro" }?["setupKey"] as? String)
        let (server, port, _) = try HostServeCLITests.serve(cli)
        defer { if server.isRunning { server.terminate() } }

        // No name server at all: the pinned host needs none.
        let env = ["TALLY_MACHINE_NAME": "pc-1", "TALLY_RESOLV_CONF": "/dev/null", "TALLY_CLIENT_DIR": cli.path("c"),
                   "TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
        #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json"], environment: env).status == 0)
        #expect(try cli.run(["client", "skms", "127.0.0.1:\(port)"], environment: env).status == 0)
        let machineBefore = try Data(contentsOf: URL(fileURLWithPath: cli.path("c/machine.json")))

        let result = try cli.run(["doctor", "--json"], environment: env)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let object = try result.json()
        #expect(object["ok"] as? Bool == true)
        let checks = try #require(object["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["name"] as? String } == ["key", "name-servers", "srv-records", "targets", "host-certificate", "count",
                                                              "clock-skew", "last-result", "pinned-host"])
        for check in checks {
            // Every check has the same keys; code and remedy are null on a PASS.
            #expect(Set(check.keys).isSuperset(of: ["name", "status", "code", "finding", "remedy"]), "\(check)")
        }
        let byName = Dictionary(uniqueKeysWithValues: checks.map { ($0["name"] as! String, $0) })
        #expect(byName["name-servers"]?["finding"] as? String == "pinned host 127.0.0.1:\(port), DNS not used")
        #expect(byName["targets"]?["status"] as? String == "PASS")
        #expect(byName["host-certificate"]?["status"] as? String == "PASS")
        #expect(byName["count"]?["status"] as? String == "WARN")
        #expect(byName["count"]?["code"] as? String == "0xC004F038")
        #expect((byName["count"]?["remedy"] as? String)?.isEmpty == false)
        #expect(byName["key"]?["code"] is NSNull)
        // Nothing stored: the licence is as it was.
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.path("c/machine.json"))) == machineBefore)
        #expect(!FileManager.default.fileExists(atPath: cli.path("c/events.jsonl")))

        // The text form: one line per check, the remedy under the warning.
        let text = try cli.run(["doctor"], environment: env)
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("PASS  ") || $0.hasPrefix("WARN  ") || $0.hasPrefix("FAIL  ") }.count == 9)
        #expect(lines.contains { $0.hasPrefix("WARN  count") && $0.contains("0xC004F038") })
        #expect(lines.contains { $0.hasPrefix("      Remedy: Wait for more machines to ask") })

        // The host stops: the pinned host does not answer.
        server.terminate()
        server.waitUntilExit()
        let down = try cli.run(["doctor", "--json"], environment: env)
        #expect(down.status == 1)
        let downObject = try down.json()
        #expect(downObject["ok"] as? Bool == false)
        let targets = try #require((downObject["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "targets" })
        #expect(targets["status"] as? String == "FAIL")
        #expect(targets["code"] as? String == "0xC004F039")
    }
}
