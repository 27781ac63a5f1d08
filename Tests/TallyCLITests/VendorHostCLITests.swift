import Foundation
import Testing

@Suite("CLI: vendor → host activation end to end", .serialized)
struct VendorHostCLITests {
    @Test("the README walk-through: init, issue a key, install, request, answer, status")
    func walkthrough() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run("vendor", "init", "--state-dir", "v", "--vendor-id", "acme").status == 0)
        let check = try cli.run("vendor", "catalog", "check", "--state-dir", "v", "--json")
        #expect(check.status == 0)
        #expect(try check.json()["valid"] as? Bool == true)

        let issued = try cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2026", "--json")
        let key = try #require(try issued.json()["key"] as? String)
        #expect(key.count == 29)

        #expect(try cli.run("host", "install-key", key, "--state-dir", "h", "--vendor-jwk", "v/vendor-public.jwk").status == 0)
        let before = try cli.run("host", "status", "--state-dir", "h", "--json")
        #expect(try before.json()["activated"] as? Bool == false)

        #expect(try cli.run("host", "activate", "--state-dir", "h", "--offline-request", "req.jwt").status == 0)
        let answered = try cli.run("vendor", "activate-host", "req.jwt", "--out", "cert.jwt", "--state-dir", "v", "--json")
        #expect(answered.status == 0, "\(answered.stderr)")
        #expect(try answered.json()["unlock"] as? String == "new host")
        #expect(try cli.run("host", "activate", "--certificate", "cert.jwt", "--state-dir", "h").status == 0)

        let status = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        #expect(status["activated"] as? Bool == true)
        #expect(status["hostId"] as? String != nil)
        #expect(status["certificateExpires"] as? String != nil)
        let skus = try #require(status["skus"] as? [[String: String]])
        #expect(skus.map { $0["sku"] } == ["studio-pro", "studio-server", "studio-standard"])
    }

    @Test("environment variables name the state directories")
    func environment() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let env = ["TALLY_VENDOR_DIR": cli.path("envvendor")]
        #expect(try cli.run(["vendor", "init"], environment: env).status == 0)
        #expect(FileManager.default.fileExists(atPath: cli.path("envvendor/catalog.json")))
    }

    @Test("the unlock limit through the CLI: the third host is C004C008, a blocked key C004C003")
    func unlockLimit() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try cli.run("vendor", "init", "--state-dir", "v")
        let issued = try cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2025", "--max-hosts", "2", "--json").json()
        let key = try #require(issued["key"] as? String)
        let keyID = try #require(issued["keyId"] as? String)
        var results: [Int32] = []
        for i in 0..<3 {
            try cli.run("host", "install-key", key, "--state-dir", "h\(i)", "--vendor-jwk", "v/vendor-public.jwk")
            try cli.run("host", "activate", "--state-dir", "h\(i)", "--offline-request", "req\(i).jwt")
            results.append(try cli.run("vendor", "activate-host", "req\(i).jwt", "--out", "cert\(i).jwt", "--state-dir", "v").status)
        }
        #expect(results == [0, 0, 1])
        let third = try cli.run("vendor", "activate-host", "req2.jwt", "--out", "cert2.jwt", "--state-dir", "v", "--json")
        let error = try #require(try third.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "0xC004C008")
        #expect((error["remedy"] as? String)?.isEmpty == false)
        #expect(third.stderr.contains("C004C008"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("cert2.jwt")))

        #expect(try cli.run("vendor", "block-host-key", keyID, "--state-dir", "v").status == 0)
        let blocked = try cli.run("vendor", "activate-host", "req0.jwt", "--out", "again.jwt", "--state-dir", "v")
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("0xC004C003"))
    }

    @Test("a client setup key on a host: C004E016 with a hint")
    func setupKeyOnHost() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try cli.run("vendor", "init", "--state-dir", "v")
        let catalog = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.path("v/catalog.json")))) as! [String: Any]
        let products = catalog["products"] as! [[String: Any]]
        let setupKey = (products[0]["skus"] as! [[String: Any]])[0]["setupKey"] as! String
        let result = try cli.run("host", "install-key", setupKey, "--state-dir", "h", "--vendor-jwk", "v/vendor-public.jwk")
        #expect(result.status == 1)
        #expect(result.stderr.contains("0xC004E016"))
        #expect(result.stderr.contains("Hint:"))
        #expect(result.stderr.contains("tally client ipk"))
    }

    @Test("catalog check reports every problem with its line")
    func catalogCheck() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try cli.run("vendor", "init", "--state-dir", "v")
        var text = try String(contentsOfFile: cli.path("v/catalog.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"studio-2025\"\n", with: "\"studio-2024\"\n")
        text = text.replacingOccurrences(of: "\"threshold\" : 5", with: "\"threshold\" : 0")
        try text.write(toFile: cli.path("v/catalog.json"), atomically: true, encoding: .utf8)
        let result = try cli.run("vendor", "catalog", "check", "--state-dir", "v", "--json")
        #expect(result.status == 1)
        let problems = try #require(try result.json()["problems"] as? [[String: Any]])
        let messages = problems.compactMap { $0["message"] as? String }
        #expect(messages.contains { $0.contains("must be at least 1") })
        #expect(messages.contains { $0.contains("group 'studio-2024' is not defined") })
        #expect(problems.allSatisfy { ($0["line"] as? Int ?? 0) > 1 })
    }

    @Test("the host refuses a certificate before it is asked: status says not activated, activate needs one option")
    func hostMisuse() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let status = try cli.run("host", "status", "--state-dir", "nothing", "--json")
        #expect(status.status == 1)
        #expect(try (status.json()["error"] as? [String: Any])?["code"] as? String == "0xC0A70009")
        let both = try cli.run("host", "activate", "--state-dir", "h")
        #expect(both.status == 1)
        #expect(both.stderr.contains("exactly one"))
    }
}
