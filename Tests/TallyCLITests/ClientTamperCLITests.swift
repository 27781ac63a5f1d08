import Foundation
import TallyCore
import Testing

/// The shipped `tally` binary against what a licensee with root on a client machine tries: the files it would
/// edit and the variables it would set (SECURITY.md points here). Machines are ``CLIRunner/Machine``s: their own
/// /etc/machine-id in a mount namespace.
@Suite("CLI: tampering with a client's state and environment", .serialized)
struct ClientTamperCLITests {
    static func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    static func setupKey(_ cli: CLIRunner, _ sku: String) throws -> String {
        let skus = try #require(try json(cli.path("v/client-profile.json"))["skus"] as? [[String: Any]])
        return try #require(skus.first { $0["id"] as? String == sku }?["setupKey"] as? String)
    }

    @Test("a root appended to the state's profile.json adds no trust: a ticket signed under it leaves dli not Licensed; without a profile the old file is not read")
    func rootAddedToTheStatesProfile() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        #expect(try cli.run("vendor", "init", "--state-dir", "v", "--vendor-id", "acme").status == 0)
        let machine = CLIRunner.Machine(id: "machine-a")
        let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
        let installed = try cli.run(["client", "ipk", try Self.setupKey(cli, "studio-pro"), "--state-dir", "c", "--json"], environment: env, machine: machine)
        #expect(installed.status == 0, "\(installed.stderr)")
        let cmid = try #require(try installed.json()["cmid"] as? String)
        let fingerprint = try #require(try cli.run(["client", "dlv", "--state-dir", "c", "--json"], environment: env, machine: machine)
            .json()["fingerprint"] as? String)

        // The attacker's path: its own Ed25519 root appended to profile.json in the state directory (where an older
        // tally stored the profile and read it back), a host certificate signed with it, a ticket for this machine.
        var profile = try TallyJSON.decode(ClientProfile.self, from: Data(contentsOf: URL(fileURLWithPath: cli.path("v/client-profile.json"))))
        let root = SigningKey.generate(kidPrefix: "evil-")
        let hostKey = SigningKey.generate()
        profile.roots.append(root.publicJWK)
        try TallyJSON.encode(profile).write(to: URL(fileURLWithPath: cli.path("c/profile.json")))
        let now = Date()
        let certificate = try HostCertificate.verify(
            HostCertificate.issue(HostCertificateClaims(iss: "acme", sub: UUID().uuidString.lowercased(), hostKey: hostKey.publicJWK,
                                                        hkh: String(repeating: "00", count: 32), grp: "studio-2026",
                                                        skus: [CertifiedSKU(sku: "studio-pro", class: "client")], thr: ["client": 1],
                                                        serial: 1, issuedAt: now.addingTimeInterval(-3600), validity: 51 * 365 * 86_400),
                                  root: root),
            roots: TrustedRoots([root.publicJWK]), now: now)
        let ticket = try VerifiedTicket.issue(
            TicketClaims(iss: certificate.claims.sub, sub: cmid, sku: "studio-pro", fpr: fingerprint, cnt: 1, iat: now,
                         rnw: now.addingTimeInterval(7 * 86_400), exp: now.addingTimeInterval(180 * 86_400)),
            hostKey: hostKey.privateKey, certificate: certificate)
        let machineFile = URL(fileURLWithPath: cli.path("c/machine.json"))
        var state = try Self.json(machineFile.path)
        var licenses = try #require(state["licenses"] as? [String: Any])
        var license = try #require(licenses["studio-pro"] as? [String: Any])
        license["ticket"] = ticket
        license["ticketExpires"] = ISO8601DateFormatter().string(from: now.addingTimeInterval(180 * 86_400))
        licenses["studio-pro"] = license
        state["licenses"] = licenses
        try JSONSerialization.data(withJSONObject: state).write(to: machineFile)

        // The forgery is sound: given that edited file as the trusted profile, tally would believe it.
        let believed = try cli.run(["client", "dli", "--state-dir", "c", "--json", "--profile", "c/profile.json"], machine: machine)
        #expect(try believed.json()["licenseStatus"] as? String == "Licensed", "\(believed.stdout)\(believed.stderr)")
        // With the vendor's profile from outside the state, it is not.
        let report = try cli.run(["client", "dli", "--state-dir", "c", "--json"], environment: env, machine: machine)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try report.json()["licenseStatus"] as? String == "Non-genuine grace")
        #expect((try report.json()["ticketProblem"] as? String)?.contains("not certified by this vendor") == true)
        // With no profile at all (none in /etc/tally, no --profile, no variable), the file in the state is not read.
        let none = try cli.run(["client", "dli", "--state-dir", "c", "--json"], machine: machine)
        #expect(none.status == 1)
        #expect(try #require(try none.json()["error"] as? [String: Any])["code"] as? String == "0xC0A70030")
        #expect(none.stderr.contains("c/profile.json was stored by an older tally and is no longer read"))
    }

    @Test("TALLY_MACHINE_ID on the shipped binary changes nothing: a Licensed state copied to another machine with the source's id is detected")
    func machineIDFromTheEnvironment() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let (server, port, _) = try HostServeCLITests.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        let key = try Self.setupKey(cli, "studio-server")
        let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
        let a = CLIRunner.Machine(id: "machine-a"), b = CLIRunner.Machine(id: "machine-b")
        // Five server-class machines reach the threshold; the fifth is machine A.
        for i in 1...5 {
            let machine = i == 5 ? a : CLIRunner.Machine(id: "machine-\(i)")
            #expect(try cli.run(["client", "ipk", key, "--state-dir", "c\(i)"], environment: env, machine: machine).status == 0)
            #expect(try cli.run(["client", "skms", "127.0.0.1:\(port)", "--state-dir", "c\(i)"], environment: env, machine: machine).status == 0)
            try cli.run(["client", "ato", "--state-dir", "c\(i)"], environment: env, machine: machine)
        }
        let original = try cli.run(["client", "dli", "--state-dir", "c5", "--json"], environment: env, machine: a).json()
        #expect(original["licenseStatus"] as? String == "Licensed")
        let cmid = try #require(original["cmid"] as? String)

        // Set on machine A itself, the variables older versions read change nothing.
        let simulated = env.merging(["TALLY_MACHINE_ID": "machine-b", "TALLY_PRODUCT_UUID": "uuid-b"]) { $1 }
        let same = try cli.run(["client", "dli", "--state-dir", "c5", "--json"], environment: simulated, machine: a).json()
        #expect(same["licenseStatus"] as? String == "Licensed")
        #expect(same["cmid"] as? String == cmid)
        #expect(same["fingerprint"] as? String == original["fingerprint"] as? String)

        // The attacker's path: the state directory copied to machine B, run there with A's id in the environment.
        try FileManager.default.copyItem(atPath: cli.path("c5"), toPath: cli.path("copy"))
        let copied = try cli.run(["client", "dli", "--state-dir", "copy", "--json"],
                                 environment: env.merging(["TALLY_MACHINE_ID": "machine-a"]) { $1 }, machine: b).json()
        #expect(copied["stateCopied"] as? Bool == true)
        #expect(copied["cmid"] as? String != cmid)
        #expect(copied["licenseStatus"] as? String == "Initial grace")
        #expect(copied["fingerprint"] as? String != original["fingerprint"] as? String)
    }

    @Test("bidi controls in machine names are neutralised in `host clients` and in `host events --format csv`")
    func bidiInTerminalAndCSV() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let (server, port, _) = try HostServeCLITests.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        let key = try Self.setupKey(cli, "studio-server")
        // "pc-<RLO>gnp.exe" shows as "pc-exe.png" in a terminal that honours the override.
        let names = ["pc-\u{202E}gnp.exe", "\u{2066}admin\u{2069}", "a\u{200F}b\u{061C}c\u{200E}"]
        for (index, name) in names.enumerated() {
            let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json"), "TALLY_MACHINE_NAME": name]
            #expect(try cli.run(["client", "ipk", key, "--state-dir", "c\(index)"], environment: env).status == 0)
            #expect(try cli.run(["client", "skms", "127.0.0.1:\(port)", "--state-dir", "c\(index)"], environment: env).status == 0)
            try cli.run(["client", "ato", "--state-dir", "c\(index)"], environment: env)
        }
        let bidi = Set([0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C]
            .map { Unicode.Scalar($0)! })
        let clients = try cli.run("host", "clients", "--state-dir", "h")
        #expect(clients.status == 0, "\(clients.stderr)")
        #expect(clients.stdout.contains("pc-?gnp.exe"))
        #expect(clients.stdout.contains("?admin?"))
        #expect(clients.stdout.contains("a?b?c?"))
        #expect(!clients.stdout.unicodeScalars.contains { bidi.contains($0) })
        let csv = try cli.run("host", "events", "--state-dir", "h", "--format", "csv", "--id", "12290")
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.contains("pc-?gnp.exe"))
        #expect(!csv.stdout.unicodeScalars.contains { bidi.contains($0) })
        // The JSON form keeps the name as sent, for programs (the name is data, not text to show).
        let json = try cli.run("host", "clients", "--state-dir", "h", "--json").json()
        let machines = (json["clients"] as? [[String: Any]])?.compactMap { $0["machine"] as? String } ?? []
        #expect(Set(machines) == Set(names))
    }
}
