import Foundation
import Testing
import TallyFiles
import TallyHost
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Every row of the settings table through the command line: `tally host set`, `get`, `settings.json`, and a
/// real `tally host serve` receiving SIGHUP, then restarted.
@Suite("CLI: every host setting through set, get, the file, SIGHUP and a restart", .serialized)
struct SettingsCLITests {
    /// What a process writes to a pipe, collected on a thread of its own, so a test can wait for a line without
    /// sleeping (it is woken by each chunk; the deadline only bounds a failure).
    final class PipeText: @unchecked Sendable {
        private let condition = NSCondition()
        private var text = ""
        private var closed = false

        init(_ pipe: Pipe) {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = handle.availableData
                    condition.lock()
                    if chunk.isEmpty { closed = true } else { text += String(decoding: chunk, as: UTF8.self) }
                    condition.broadcast()
                    condition.unlock()
                    if chunk.isEmpty { return }
                }
            }
        }

        /// Waits until `done` holds for the text so far (or the pipe closed, or 60 s passed) and returns the text.
        func wait(until done: (String) -> Bool) -> String {
            let deadline = Date().addingTimeInterval(60)
            condition.lock()
            defer { condition.unlock() }
            while !done(text), !closed, condition.wait(until: deadline) {}
            return text
        }

        var all: String { wait { _ in false } }
    }

    /// `tally host serve` with its output and log (`info`) collected.
    struct Serving {
        let process: Process
        let stdout: PipeText
        let log: PipeText
        let port: Int

        init(_ cli: CLIRunner, _ extra: [String]) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
            process.arguments = ["host", "serve", "--state-dir", cli.path("h"), "--log-level", "info"] + extra
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            stdout = PipeText(out)
            log = PipeText(err)
            let first = stdout.wait { $0.contains("\n") }.split(separator: "\n").first.map(String.init) ?? ""
            #expect(first.hasPrefix("listening on 127.0.0.1:"), "\(first)\n\(log.wait { _ in true })")
            port = Int(first.split(separator: ":").last ?? "") ?? 0
        }

        /// Sends SIGHUP and returns the log lines the reload wrote: those after `before` lines, up to the
        /// reload's last line (`needs a restart`, or `no setting changed` / the last other line when nothing needs one).
        func reload(expectingRestart: Bool) -> [String] {
            let before = log.wait { _ in true }.split(separator: "\n").count
            kill(process.processIdentifier, SIGHUP)
            let marker = expectingRestart ? "needs a restart: " : "no setting changed"
            let lines = log.wait { $0.split(separator: "\n").dropFirst(before).contains { $0.contains(marker) } }.split(separator: "\n")
            return lines.dropFirst(before).map(String.init)
        }

        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// The names a reload listed after `prefix` (`applied: `, `needs a restart: `; `applied when next used: `
    /// lists `NAME (WHEN)`).
    static func names(_ lines: [String], after prefix: String) -> [String] {
        guard let line = lines.first(where: { $0.contains(prefix) }), let range = line.range(of: prefix) else { return [] }
        return line[range.upperBound...].components(separatedBy: ", ").map { $0.components(separatedBy: " (").first ?? $0 }
    }

    /// The answer's renewal and activation intervals for one client that is not activated (`client ato --json`).
    static func intervals(_ cli: CLIRunner, port: Int) throws -> (renewal: Int, activation: Int) {
        let env = ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]
        let answer = try cli.run(["client", "ato", "--json", "--state-dir", "c"], environment: env).json()
        return (answer["renewalInterval"] as? Int ?? 0, answer["activationInterval"] as? Int ?? 0)
    }

    @Test("every setting: set prints how it applies, get and settings.json hold it, SIGHUP applies or defers it as its row says, a restart applies the rest")
    func everySetting() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let directory = StateDirectory(cli.path("h"))
        let setupKey = try HostServeCLITests.serverSetupKey(cli)
        #expect(try cli.run(["client", "ipk", setupKey, "--profile", "v/client-profile.json", "--state-dir", "c"],
                            environment: ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]).status == 0)

        let serving = try Serving(cli, ["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        defer { if serving.process.isRunning { serving.process.terminate() } }
        #expect(try cli.run(["client", "skms", "127.0.0.1:\(serving.port)", "--state-dir", "c"], environment: ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]).status == 0)
        #expect(try Self.intervals(cli, port: serving.port) == (10_080, 120))
        let started = try HostSettings.load(from: directory)

        // Every setting to a value other than the one the host runs with. The listen address becomes one a test
        // can restart on (the host keeps its port until then); admin-listen becomes none.
        // The rows checked when set (a file that must exist and parse) get files that pass.
        let keyFile = cli.path("tally-host.key")
        try Data("key \"tally-host\" { algorithm hmac-sha256; secret \"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\"; };\n".utf8).write(to: URL(fileURLWithPath: keyFile))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        let pki = try TestPKI()
        let checkedFiles = ["dns-key-file": keyFile, "vendor-ca-file": pki.caCertificate]
        var expected: [String: (value: String, applies: SettingApplies)] = [:]
        for setting in HostSettings.table {
            let current = setting.value(in: started)
            let value = setting.name == "listen" ? "127.0.0.1:0"
                : checkedFiles[setting.name] ?? (setting.example != current ? setting.example : setting.defaultValue)
            let result = try cli.run("host", "set", setting.name, value, "--state-dir", "h")
            #expect(result.status == 0, "\(setting.name): \(result.stderr)")
            var after = started
            try after.set(setting.name, to: value)
            let applies = setting.applies(from: started, to: after)
            #expect(result.stdout.contains(applies.advice), "\(setting.name): \(result.stdout)")
            let json = try cli.run("host", "get", setting.name, "--state-dir", "h", "--json").json()
            #expect(json["value"] as? String == value, "\(setting.name)")
            #expect(json["applies"] as? String == setting.applies.keyword)
            #expect(try cli.run("host", "get", setting.name, "--state-dir", "h").stdout == value + "\n")
            expected[setting.name] = (value, applies)
        }
        let file = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: directory.file("settings.json"))) as? [String: Any])
        #expect(Set(file.keys) == Set(HostSettings.table.map(\.key)))
        let all = try #require(try cli.run("host", "get", "--state-dir", "h", "--json").json()["settings"] as? [[String: Any]])
        #expect(all.map { $0["name"] as? String ?? "" } == HostSettings.table.map(\.name))
        #expect(all.allSatisfy { expected[$0["name"] as? String ?? ""]?.value == $0["value"] as? String })

        // SIGHUP: the log lists each setting where its row says.
        let reload = serving.reload(expectingRestart: true)
        func rows(_ match: (SettingApplies) -> Bool) -> [String] { HostSettings.table.map(\.name).filter { match(expected[$0]!.applies) } }
        #expect(Self.names(reload, after: "applied: ") == rows { $0 == .onSIGHUP }, "\(reload)")
        #expect(Self.names(reload, after: "applied when next used: ") == rows { if case .whenUsed = $0 { true } else { false } }, "\(reload)")
        #expect(Self.names(reload, after: "needs a restart: ") == rows { $0 == .atRestart }, "\(reload)")
        #expect(rows { $0 == .onSIGHUP }.contains("renewal-interval") && rows { $0 == .atRestart }.contains("listen"))
        // Applied: the next answer carries the new intervals; not applied: it still came on the old port.
        #expect(try Self.intervals(cli, port: serving.port) == (Int(expected["renewal-interval"]!.value)!, Int(expected["activation-interval"]!.value)!))

        // A second SIGHUP with the same file: nothing new applies, and what needs a restart is said again.
        let again = serving.reload(expectingRestart: true)
        #expect(!again.contains { $0.contains("applied: ") || $0.contains("applied when next used: ") }, "\(again)")
        #expect(Self.names(again, after: "needs a restart: ") == rows { $0 == .atRestart })

        // Restart on the file alone (no --listen, no --admin-listen); the token file is left out (it does not exist),
        // and DNS publishing off (this test has no DNS server).
        #expect(try cli.run("host", "reset", "admin-token-file", "--state-dir", "h").status == 0)
        // The store goes back to SQLite (this test has no PostgreSQL; the shared store has tests of its own).
        for name in ["store", "store-password-file", "store-ca-file"] { #expect(try cli.run("host", "reset", name, "--state-dir", "h").status == 0) }
        #expect(try cli.run("host", "set", "dns-publishing", "off", "--state-dir", "h").status == 0)
        #expect(serving.stop() == 0)
        let restarted = try Serving(cli, [])
        defer { if restarted.process.isRunning { restarted.process.terminate() } }
        #expect(restarted.port != serving.port || restarted.port > 0)
        #expect(try cli.run(["client", "skms", "127.0.0.1:\(restarted.port)", "--state-dir", "c"], environment: ["TALLY_CLIENT_PROFILE": cli.path("v/client-profile.json")]).status == 0)
        #expect(try Self.intervals(cli, port: restarted.port).renewal == Int(expected["renewal-interval"]!.value)!)
        let quiet = restarted.reload(expectingRestart: false)
        #expect(quiet.contains { $0.contains("no setting changed") }, "\(quiet)")
        #expect(restarted.stop() == 0)
        #expect(!restarted.stdout.all.contains("admin on"), "admin-listen none still served the admin interface")
        #expect(!FileManager.default.fileExists(atPath: directory.file("admin.json").path))
    }

    @Test("set --help is the table's help; bad values and names are refused with a remedy and change nothing")
    func helpAndRefusals() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let help = try cli.run("host", "set", "--help").stdout
        #expect(help.contains(HostSettings.helpText), "\(help)")
        for setting in HostSettings.table { #expect(help.contains(setting.helpEntry())) }

        #expect(try cli.run("host", "set", "renewal-interval", "1440", "--state-dir", "h").status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: cli.path("h/settings.json")))
        for (name, value) in [("renewal-interval", "14"), ("listen", "1688"), ("admin-listen", "everywhere"), ("dns-addresses", "192.0.2.1,x"),
                              ("wal-checkpoint", "sometimes"), ("colour", "blue")] {
            let result = try cli.run("host", "set", name, value, "--state-dir", "h", "--json")
            #expect(result.status == 1, "\(name) \(value)")
            let error = try #require(try result.json()["error"] as? [String: Any])
            #expect((error["remedy"] as? String)?.contains("tally host set") == true, "\(error)")
            #expect((error["message"] as? String)?.contains(name) == true, "\(error)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.path("h/settings.json"))) == before)

        // Files are checked when set: a key file others may read, a CA file that holds no certificate.
        let readable = cli.path("readable.key")
        try Data("key \"tally-host\" { algorithm hmac-sha256; secret \"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ=\"; };\n".utf8).write(to: URL(fileURLWithPath: readable))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: readable)
        let notPEM = cli.path("not.pem")
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: notPEM))
        for (name, value, reason) in [("dns-key-file", readable, "may be read by other users"), ("vendor-ca-file", notPEM, "is not a PEM file of CA certificates")] {
            let result = try cli.run("host", "set", name, value, "--state-dir", "h")
            #expect(result.status == 1, "\(name) \(value)")
            #expect(result.stderr.contains(name) && result.stderr.contains(reason), "\(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: cli.path("h/settings.json"))) == before)
    }

    @Test("a hand-edited settings.json: serve refuses it naming the setting; set repairs one value and keeps an unknown key until reset")
    func handEdited() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        let path = cli.path("h/settings.json")
        var object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        object["renewalInterval"] = 5
        object["renewal_interval"] = 1440
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))

        let refused = try cli.run("host", "serve", "--state-dir", "h", "--listen", "127.0.0.1:0", "--admin-listen", "none")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("renewal-interval") && refused.stderr.contains("renewal_interval"), "\(refused.stderr)")
        #expect(refused.stderr.contains("tally host set renewal-interval"))

        let repaired = try cli.run("host", "set", "renewal-interval", "1440", "--state-dir", "h")
        #expect(repaired.status == 0, "\(repaired.stderr)")
        #expect(repaired.stderr.contains("renewal_interval"), "set should warn about what is still wrong: \(repaired.stderr)")
        #expect(try cli.run("host", "get", "--state-dir", "h").stderr.contains("tally host reset renewal_interval"))
        #expect(try cli.run("host", "reset", "renewal_interval", "--state-dir", "h").status == 0)
        let clean = try cli.run("host", "get", "renewal-interval", "--state-dir", "h")
        #expect(clean.stdout == "1440\n" && clean.stderr.isEmpty, "\(clean.stderr)")
    }
}
