import Foundation
import TallyDNS
import TallyDNSTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `tally host dns publish|unpublish` and `tally host serve` as real processes against a real BIND `named`: the
/// port published is the one the host answers on, a dead port is refused, a serving host's unpublish is said to
/// be temporary, and a host with DNS never set up warns once.
@Suite("CLI: host dns publish/unpublish beside a serving host, with BIND", .serialized)
struct HostDNSCLITests {
    /// A serving `tally host serve`; its standard error goes to a file, read after it stopped.
    struct Served {
        var process: Process
        var port: Int
        var stderrPath: String

        func stop() -> String {
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
            return (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        }
    }

    static func serve(_ cli: CLIRunner, admin: String = "127.0.0.1:0", logLevel: String = "error") throws -> Served {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["host", "serve", "--state-dir", cli.path("h"), "--listen", "127.0.0.1:0", "--admin-listen", admin, "--log-level", logLevel]
        let out = Pipe()
        let stderrPath = cli.path("serve-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.hasPrefix("listening on 127.0.0.1:"), "\(text)")
        // The admin interface's line comes next when it is on; admin.json is written before the first line.
        return Served(process: process, port: Int(line.split(separator: ":").last ?? "") ?? 0, stderrPath: stderrPath)
    }

    /// Points the host's publishing at the test's named.
    static func configureDNS(_ cli: CLIRunner, _ named: NamedServer) throws {
        for (name, value) in [("dns-publish-list", "tally.test"), ("dns-key-file", named.keyFile), ("dns-primary", named.server.description),
                              ("dns-name-servers", named.server.description), ("dns-target", "host1.tally.test")] {
            let set = try cli.run("host", "set", name, value, "--state-dir", "h")
            #expect(set.status == 0, "\(set.stderr)")
        }
    }

    /// Waits until the host's store holds `count` events of `id` (asked through the serving host), at most 10 s.
    static func waitForEvent(_ cli: CLIRunner, _ id: String, count: Int) throws -> Bool {
        for _ in 0..<200 {
            let lines = try cli.run("host", "events", "--state-dir", "h", "--format", "jsonl", "--id", id).stdout.split(separator: "\n")
            if lines.count >= count { return lines.count == count }
            usleep(50_000)
        }
        return false
    }

    /// A TCP port nothing listens on right now.
    static func closedPort() -> Int {
        let socket = LoopbackSockets.stalledTCP()
        close(socket.fd)
        return Int(socket.port)
    }

    @Test("publish beside a serving host publishes the port it answers on, not the listen setting's; with none serving a dead port is refused unless --port is given")
    func publishesTheServingPort() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let named = try NamedServer.start()
        defer { named.stop() }
        try HostServeCLITests.activatedHost(cli)  // publishing off while serve starts: only the command publishes
        try Self.configureDNS(cli, named)
        let deadPort = Self.closedPort()
        #expect(try cli.run("host", "set", "listen", "127.0.0.1:\(deadPort)", "--state-dir", "h").status == 0)

        // The host serves on a port of its own (port 0), not the listen setting's.
        let served = try Self.serve(cli)
        #expect(served.port > 0 && served.port != deadPort)
        #expect(try cli.run("host", "set", "dns-publishing", "on", "--state-dir", "h").status == 0)
        let publish = try cli.run("host", "dns", "publish", "--state-dir", "h")
        #expect(publish.status == 0, "\(publish.stdout)\(publish.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(served.port) host1.tally.test."])
        _ = served.stop()

        // None serving, and nothing answers on the listen setting's port: refused, the good record stays.
        let refused = try cli.run("host", "dns", "publish", "--state-dir", "h")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("no Tally host answers GET /health on the listen setting's port \(deadPort)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--port PORT"), "\(refused.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(served.port) host1.tally.test."])

        // A listener that accepts and never answers is no host either.
        let stalled = LoopbackSockets.stalledTCP()
        defer { close(stalled.fd) }
        #expect(try cli.run("host", "set", "listen", "127.0.0.1:\(stalled.port)", "--state-dir", "h").status == 0)
        let stalledRefusal = try cli.run("host", "dns", "publish", "--state-dir", "h")
        #expect(stalledRefusal.status == 1)
        #expect(stalledRefusal.stderr.contains("listen setting's port \(stalled.port)"), "\(stalledRefusal.stderr)")

        // --port publishes what it is told.
        let forced = try cli.run("host", "dns", "publish", "--state-dir", "h", "--port", "\(deadPort)")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(deadPort) host1.tally.test."])
    }

    @Test("with the admin interface off, the listen setting's port is published when a Tally host answers /health there")
    func publishesTheListenPortWhenAHostAnswersThere() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let named = try NamedServer.start()
        defer { named.stop() }
        try HostServeCLITests.activatedHost(cli)
        try Self.configureDNS(cli, named)
        let served = try Self.serve(cli, admin: "none")
        defer { _ = served.stop() }
        #expect(try cli.run("host", "set", "listen", "127.0.0.1:\(served.port)", "--state-dir", "h").status == 0)
        #expect(try cli.run("host", "set", "dns-publishing", "on", "--state-dir", "h").status == 0)
        let publish = try cli.run("host", "dns", "publish", "--state-dir", "h")
        #expect(publish.status == 0, "\(publish.stdout)\(publish.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(served.port) host1.tally.test."])
    }

    @Test("unpublish on a host still serving with publishing on says it comes back; --and-stop-publishing turns publishing off")
    func unpublishOnAServingHost() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let named = try NamedServer.start()
        defer { named.stop() }
        try HostServeCLITests.activatedHost(cli)
        try Self.configureDNS(cli, named)
        #expect(try cli.run("host", "set", "dns-publishing", "on", "--state-dir", "h").status == 0)
        let served = try Self.serve(cli)
        defer { _ = served.stop() }
        // The serving host publishes itself at start: wait for that (its 12294 event) so it cannot come after the unpublish.
        #expect(try Self.waitForEvent(cli, "12294", count: 1))
        #expect(try cli.run("host", "dns", "publish", "--state-dir", "h").status == 0)
        #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(served.port) host1.tally.test."])

        let plain = try cli.run("host", "dns", "unpublish", "--state-dir", "h")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
        #expect(plain.stderr.contains("still serves with DNS publishing on: it publishes its record again"), "\(plain.stderr)")
        #expect(plain.stderr.contains("--and-stop-publishing"))
        let json = try cli.run("host", "dns", "unpublish", "--state-dir", "h", "--json").json()
        #expect((json["warning"] as? String)?.contains("still serves") == true)
        #expect(json["dnsPublishing"] as? Bool == true)

        #expect(try cli.run("host", "dns", "publish", "--state-dir", "h").status == 0)
        let stopping = try cli.run("host", "dns", "unpublish", "--state-dir", "h", "--and-stop-publishing")
        #expect(stopping.status == 0, "\(stopping.stderr)")
        #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
        #expect(!stopping.stderr.contains("still serves"), "\(stopping.stderr)")
        #expect(stopping.stdout.contains("DNS publishing is off"))
        let settings = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cli.path("h/settings.json")))) as? [String: Any]
        #expect(settings?["dnsPublishing"] as? Bool == false)
        // Publishing by hand is now refused until it is turned on again.
        #expect(try cli.run("host", "dns", "publish", "--state-dir", "h").stderr.contains("DNS publishing is off"))
    }

    @Test("a host with DNS publishing never set up warns once with the hint, logs no error, and records 12293 at every start")
    func unconfiguredPublishingWarnsOnce() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        #expect(try cli.run("host", "set", "dns-publishing", "on", "--state-dir", "h").status == 0)
        var logs: [String] = []
        for start in 1...2 {
            let served = try Self.serve(cli, logLevel: "info")
            // Wait for this start's publishing round (an event, not a timer).
            #expect(try Self.waitForEvent(cli, "12293", count: start))
            logs.append(served.stop())
        }
        let first = logs[0].split(separator: "\n"), second = logs[1].split(separator: "\n")
        #expect(first.filter { $0.contains("warning") && $0.contains("DNS publishing is on but not set up") }.count == 1, "\(logs[0])")
        #expect(logs[0].contains("tally host set dns-publish-list example.com"))
        #expect(logs[0].contains("tally host set dns-publishing off"))
        #expect(!first.contains { $0.contains(" error ") }, "\(logs[0])")
        #expect(!second.contains { $0.contains("not set up") || $0.contains(" error ") }, "\(logs[1])")
    }

    @Test("client set-dns-servers and set-resolv-conf are stored and used by ato and the doctor; the environment wins; bad input changes nothing")
    func clientDNSSettings() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let named = try NamedServer.start()
        defer { named.stop() }
        try HostServeCLITests.activatedHost(cli)
        try Self.configureDNS(cli, named)
        #expect(try cli.run("host", "set", "dns-publishing", "on", "--state-dir", "h").status == 0)
        let served = try Self.serve(cli)
        defer { _ = served.stop() }
        #expect(try Self.waitForEvent(cli, "12294", count: 1))

        let help = try cli.run("client", "--help").stdout
        for word in ["set-dns-servers", "set-resolv-conf", "$TALLY_DNS_SERVERS", "$TALLY_RESOLV_CONF"] {
            #expect(help.contains(word), "tally client --help lacks \(word)")
        }

        let setupKey = try HostServeCLITests.serverSetupKey(cli)
        // A resolv.conf naming no name server: without stored servers discovery has none to ask.
        _ = FileManager.default.createFile(atPath: cli.path("empty-resolv.conf"), contents: Data("# no name servers\n".utf8))
        let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json"), "TALLY_RESOLV_CONF": cli.path("empty-resolv.conf")]
        #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json", "--state-dir", "c1"], environment: env).status == 0)
        #expect(try cli.run(["client", "skms-domain", "tally.test", "--state-dir", "c1"], environment: env).status == 0)
        let before = try cli.run(["client", "ato", "--state-dir", "c1"], environment: env)
        #expect(before.status == 1)
        #expect((before.stdout + before.stderr).contains("0x8007267C"), "\(before.stdout)\(before.stderr)")

        // Stored name servers are asked; the host is found through its SRV record and counts this machine.
        let set = try cli.run(["client", "set-dns-servers", named.server.description, "--state-dir", "c1"], environment: env)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.contains("name servers: \(named.server.description)"), "\(set.stdout)")
        try cli.run(["client", "ato", "--state-dir", "c1"], environment: env)
        let dli = try cli.run(["client", "dli", "--json", "--state-dir", "c1"], environment: env).json()
        #expect(dli["hostCount"] as? Int == 1)
        #expect((dli["host"] as? String)?.contains("\(served.port)") == true, "\(dli)")
        let stored = try Data(contentsOf: URL(fileURLWithPath: cli.path("c1/settings.json")))
        #expect(String(decoding: stored, as: UTF8.self).contains(named.server.description))

        // $TALLY_DNS_SERVERS wins over the stored list for one command.
        let elsewhere = "127.0.0.1:\(Self.closedPort())"
        let doctorEnv = env.merging(["TALLY_DNS_SERVERS": elsewhere]) { $1 }
        let doctorOverridden = try cli.run(["doctor", "--state-dir", "c1", "--json"], environment: doctorEnv).json()
        let overriddenCheck = (doctorOverridden["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "name-servers" }
        #expect((overriddenCheck?["finding"] as? String)?.contains("configured for Tally: \(elsewhere)") == true, "\(String(describing: overriddenCheck))")
        let doctor = try cli.run(["doctor", "--state-dir", "c1", "--json"], environment: env).json()
        let check = (doctor["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "name-servers" }
        #expect((check?["finding"] as? String)?.contains("set with `tally client set-dns-servers`: \(named.server.description)") == true,
                "\(String(describing: check))")

        // Bad input is refused and the stored settings stay as they were.
        let bad = try cli.run(["client", "set-dns-servers", "127.0.0.1:notaport", "--state-dir", "c1"], environment: env)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("is not a name server address"), "\(bad.stderr)")
        let missing = try cli.run(["client", "set-resolv-conf", "no-such-resolv.conf", "--state-dir", "c1"], environment: env)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("is not a readable file"), "\(missing.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.path("c1/settings.json"))) == stored)

        // A stored resolv.conf gives the search list: a second machine without skms-domain finds the host through it.
        _ = FileManager.default.createFile(atPath: cli.path("tally-resolv.conf"), contents: Data("search tally.test\noptions timeout:1 attempts:1\n".utf8))
        let second = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
        #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json", "--state-dir", "c2"], environment: second).status == 0)
        #expect(try cli.run(["client", "set-dns-servers", named.server.description, "--state-dir", "c2"], environment: second).status == 0)
        let resolv = try cli.run(["client", "set-resolv-conf", "tally-resolv.conf", "--state-dir", "c2"], environment: second)
        #expect(resolv.status == 0, "\(resolv.stderr)")
        #expect(resolv.stdout.contains("resolv.conf:  \(cli.path("tally-resolv.conf"))"), "\(resolv.stdout)")
        try cli.run(["client", "ato", "--state-dir", "c2"], environment: second)
        let secondDLI = try cli.run(["client", "dli", "--json", "--state-dir", "c2"], environment: second).json()
        #expect(secondDLI["hostCount"] as? Int == 2, "\(secondDLI)")
        // `none` goes back to the system's files.
        let reset = try cli.run(["client", "set-resolv-conf", "none", "--state-dir", "c2"], environment: second)
        #expect(reset.stdout.contains("resolv.conf:  none set (/etc/resolv.conf)"), "\(reset.stdout)")
    }
}
