import Foundation
import Testing

/// `tally client …` as an administrator uses it. Every run is a machine of its own (``CLIRunner/Machine``: its own
/// /etc/machine-id in a mount namespace), so the tests do not depend on this machine's id, and is given the vendor's
/// profile through $TALLY_CLIENT_PROFILE unless it asks not to be.
@Suite("CLI: client verbs", .serialized)
struct ClientCLITests {
    /// A vendor in `v` and helpers to run client verbs as machine `machine` on state directory `dir`.
    struct Setup {
        let cli = CLIRunner()

        init() throws {
            let initialised = try cli.run("vendor", "init", "--state-dir", "v", "--vendor-id", "acme")
            guard initialised.status == 0 else { throw CocoaError(.featureUnsupported) }
        }

        func setupKey(_ sku: String) throws -> String {
            let profile = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.path("v/client-profile.json")))) as! [String: Any]
            let skus = profile["skus"] as! [[String: Any]]
            return skus.first { $0["id"] as? String == sku }!["setupKey"] as! String
        }

        @discardableResult
        func client(_ arguments: String..., machine: String = "m1", dir: String = "c", profile: Bool = true,
                    environment: [String: String] = [:]) throws -> CLIRunner.Result {
            var env = ["TALLY_MACHINE_NAME": "pc-\(machine)"]
            if profile { env["TALLY_CLIENT_PROFILE"] = cli.path("v/client-profile.json") }
            env.merge(environment) { $1 }
            return try cli.run(["client"] + arguments + ["--state-dir", dir], environment: env, machine: CLIRunner.Machine(id: machine))
        }

        func error(_ result: CLIRunner.Result) throws -> [String: Any] {
            try #require(try result.json()["error"] as? [String: Any])
        }
    }

    @Test("every verb needs the vendor's profile (--profile, $TALLY_CLIENT_PROFILE or /etc/tally); then dli --json shows initial grace")
    func installAndShow() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let key = try setup.setupKey("studio-pro")
        let missing = try setup.client("ipk", key, "--json", profile: false)
        #expect(missing.status == 1)
        #expect(try setup.error(missing)["code"] as? String == "0xC0A70030")
        #expect(missing.stderr.contains("--profile"))
        #expect(missing.stderr.contains("/etc/tally/client-profile.json"))
        #expect(!FileManager.default.fileExists(atPath: setup.cli.path("c/machine.json")))

        let installed = try setup.client("ipk", key, "--profile", "v/client-profile.json", "--json", profile: false)
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: setup.cli.path("c/profile.json")))
        // The next verb needs it again: nothing was stored.
        let again = try setup.client("dli", "--json", profile: false)
        #expect(try setup.error(again)["code"] as? String == "0xC0A70030")
        // The profile the application's package installs in /etc/tally is the default.
        let etc = setup.cli.path("etc-tally")
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: setup.cli.path("v/client-profile.json"), toPath: etc + "/client-profile.json")
        let fromEtc = try setup.cli.run(["client", "dli", "--json", "--state-dir", "c"], machine: CLIRunner.Machine(id: "m1", etcTally: etc))
        #expect(fromEtc.status == 0, "\(fromEtc.stderr)")
        #expect(try fromEtc.json()["licenseStatus"] as? String == "Initial grace")
        let cmid = try #require(try installed.json()["cmid"] as? String)
        #expect(try installed.json()["sku"] as? String == "studio-pro")

        let dli = try setup.client("dli", "--json")
        #expect(dli.status == 0, "\(dli.stderr)")
        let report = try dli.json()
        #expect(report["cmid"] as? String == cmid)
        #expect(report["sku"] as? String == "studio-pro")
        #expect(report["licenseStatus"] as? String == "Initial grace")
        #expect(report["lastResult"] == nil)
        #expect(report["machineName"] as? String == "pc-m1")
        #expect(report["rearmLimit"] as? Int == 5)

        let text = try setup.client("dli")
        #expect(text.stdout.contains("License status"))
        #expect(text.stdout.contains("Initial grace"))
        let xpr = try setup.client("xpr", "--json").json()
        #expect(xpr["licenseStatus"] as? String == "Initial grace")
        #expect(xpr["expires"] as? String != nil)
    }

    @Test("a host key on a client is C004E016 with the hint; a typo is C004F050")
    func wrongKeys() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let issued = try setup.cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2026", "--json").json()
        let hostKey = try #require(issued["key"] as? String)
        let result = try setup.client("ipk", hostKey, "--profile", "v/client-profile.json")
        #expect(result.status == 1)
        #expect(result.stderr.contains("0xC004E016"))
        #expect(result.stderr.contains("Hint: \"I installed a host key on a client\""))

        var typo = Array(try setup.setupKey("studio-pro"))
        typo[7] = typo[7] == "A" ? "B" : "A"
        let bad = try setup.client("ipk", String(typo), "--profile", "v/client-profile.json", "--json")
        #expect(bad.status == 1)
        #expect(try setup.error(bad)["code"] as? String == "0xC004F050")
        #expect((try setup.error(bad)["remedy"] as? String)?.isEmpty == false)
    }

    @Test("skms, ckms, skms-domain, ckms-domain, skhc, ckhc")
    func settings() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        #expect(try setup.client("skms", "[::1]:1700", "--json").json()["pinnedHost"] as? String == "[::1]:1700")
        #expect(try setup.client("skms", "kms.example.com", "--json").json()["pinnedHost"] as? String == "kms.example.com:1688")
        #expect(try setup.client("skms-domain", "Corp.Example.com", "--json").json()["domain"] as? String == "corp.example.com")
        #expect(try setup.client("ckhc", "--json").json()["hostCaching"] as? Bool == false)
        #expect(try setup.client("skhc", "--json").json()["hostCaching"] as? Bool == true)
        let cleared = try setup.client("ckms", "--json").json()
        #expect(cleared["pinnedHost"] == nil)
        #expect(cleared["domain"] as? String == "corp.example.com")
        #expect(try setup.client("ckms-domain", "--json").json()["domain"] == nil)

        let bad = try setup.client("skms", "host:99999", "--json")
        #expect(bad.status == 1)
        #expect(try setup.error(bad)["code"] as? String == "0xC0A7000A")
    }

    @Test("ato against a closed port is C004F039, recorded in dli; without a pin the error names skms")
    func atoFailures() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        try setup.client("ipk", try setup.setupKey("studio-pro"), "--profile", "v/client-profile.json")
        // An empty resolv.conf: no name server, so nothing is asked of the machine's real DNS.
        let unpinned = try setup.client("ato", environment: ["TALLY_RESOLV_CONF": "/dev/null"])
        #expect(unpinned.status == 1)
        #expect(unpinned.stderr.contains("tally client skms"))

        try setup.client("skms", "127.0.0.1:1")
        let ato = try setup.client("ato", "--json")
        #expect(ato.status == 1)
        #expect(try setup.error(ato)["code"] as? String == "0xC004F039")
        let report = try setup.client("dli", "--json").json()
        #expect(report["lastResult"] as? String == "0xC004F039")
        #expect(report["host"] as? String == "127.0.0.1:1")
        #expect(report["licenseStatus"] as? String == "Initial grace")
    }

    @Test("rearm up to the limit, then C004D307")
    func rearm() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let first = try setup.client("ipk", try setup.setupKey("studio-pro"), "--profile", "v/client-profile.json", "--json").json()
        var cmids: Set<String> = [try #require(first["cmid"] as? String)]
        for n in 1...5 {
            let result = try setup.client("rearm", "--json")
            #expect(result.status == 0)
            #expect(try result.json()["rearmCount"] as? Int == n)
            cmids.insert(try #require(try result.json()["cmid"] as? String))
        }
        #expect(cmids.count == 6)
        let over = try setup.client("rearm", "--json")
        #expect(over.status == 1)
        #expect(try setup.error(over)["code"] as? String == "0xC004D307")
        #expect(try setup.client("dli", "--json").json()["licenseStatus"] as? String == "Extended grace")
    }

    @Test("the state read as another machine gets a new CMID; a corrupt state is C0A70003")
    func copiedAndCorrupt() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let first = try setup.client("ipk", try setup.setupKey("studio-pro"), "--profile", "v/client-profile.json", "--json").json()
        let copy = try setup.client("dli", "--json", machine: "clone").json()
        #expect(copy["stateCopied"] as? Bool == true)
        #expect(copy["cmid"] as? String != first["cmid"] as? String)

        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: setup.cli.path("c/machine.json")))
        let corrupt = try setup.client("dli", "--json")
        #expect(corrupt.status == 1)
        #expect(try setup.error(corrupt)["code"] as? String == "0xC0A70003")
        #expect(corrupt.stderr.contains("Remedy"))
    }

    @Test("environment: TALLY_CLIENT_DIR and TALLY_CLIENT_PROFILE; several SKUs list as licenses")
    func environmentAndSeveralSKUs() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let env = ["TALLY_CLIENT_DIR": setup.cli.path("envclient"), "TALLY_CLIENT_PROFILE": setup.cli.path("v/client-profile.json")]
        #expect(try setup.cli.run(["client", "ipk", try setup.setupKey("studio-pro")], environment: env).status == 0)
        #expect(try setup.cli.run(["client", "ipk", try setup.setupKey("studio-server")], environment: env).status == 0)
        #expect(FileManager.default.fileExists(atPath: setup.cli.path("envclient/machine.json")))
        let all = try setup.cli.run(["client", "dli", "--json"], environment: env).json()
        let licenses = try #require(all["licenses"] as? [[String: Any]])
        #expect(licenses.map { $0["sku"] as? String } == ["studio-pro", "studio-server"])
        let one = try setup.cli.run(["client", "dlv", "--sku", "studio-server", "--json"], environment: env).json()
        #expect(one["sku"] as? String == "studio-server")
        #expect(try setup.cli.run(["client", "upk", "--sku", "studio-pro"], environment: env).status == 0)
        #expect(try setup.cli.run(["client", "dli", "--json"], environment: env).json()["sku"] as? String == "studio-server")
    }

    @Test("renew-due with nothing installed is C0A70009; with nothing due it says so")
    func renewDue() throws {
        let setup = try Setup()
        defer { setup.cli.cleanUp() }
        let none = try setup.client("renew-due", "--json")
        #expect(none.status == 1)
        #expect(try setup.error(none)["code"] as? String == "0xC0A70009")
        try setup.client("ipk", try setup.setupKey("studio-pro"), "--profile", "v/client-profile.json")
        try setup.client("skms", "127.0.0.1:1")
        let due = try setup.client("renew-due", "--json")
        #expect(due.status == 1)
        let outcomes = try #require(try due.json()["outcomes"] as? [[String: Any]])
        #expect(outcomes.first?["result"] as? String == "0xC004F039")
        let again = try setup.client("renew-due", "--json")
        #expect(again.status == 0)
        #expect((try again.json()["outcomes"] as? [Any])?.isEmpty == true)
    }
}
