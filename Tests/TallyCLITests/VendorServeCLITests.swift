import Foundation
import Testing
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally vendor serve` as a real process over TLS, with hosts activating, renewing and reporting through the CLI.
@Suite("CLI: vendor serve over TLS with host activate --online, renew, report --send and root rotation", .serialized)
struct VendorServeCLITests {
    /// Starts a long-running `tally` command and reads its first line of output.
    static func start(_ arguments: [String]) throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = arguments
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
        return (process, text.split(separator: "\n").first.map(String.init) ?? "")
    }

    @Test("the README's online walk-through, through a CONNECT proxy named by HTTPS_PROXY")
    func walkthrough() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let pki = try TestPKI()
        let (certificate, key) = try pki.server()
        try cli.run("vendor", "init", "--state-dir", "v", "--vendor-id", "acme")
        let hostKey = try #require(try cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2026", "--json").json()["key"] as? String)
        // The offline root leaves the serving machine.
        try FileManager.default.moveItem(atPath: cli.path("v/vendor-root.jwk"), toPath: cli.path("offline-root.jwk"))

        let (vendor, line) = try Self.start(["vendor", "serve", "--state-dir", cli.path("v"), "--listen", "127.0.0.1:0",
                                             "--tls-certificate", certificate, "--tls-key", key, "--log-level", "error"])
        defer { if vendor.isRunning { vendor.terminate() } }
        #expect(line.hasPrefix("listening on https://127.0.0.1:"), "\(line)")
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0) })
        let url = "https://localhost:\(port)"

        let proxy = try ConnectProxy()
        defer { proxy.stop() }
        let viaProxy = ["HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)"]
        #expect(try cli.run("host", "install-key", hostKey, "--state-dir", "h", "--vendor-jwk", "v/vendor-public.jwk").status == 0)
        // The system's roots do not know the throwaway CA.
        let untrusted = try cli.run(["host", "activate", "--online", url, "--state-dir", "h"], environment: viaProxy)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.contains("0xC0A70022"), "\(untrusted.stderr)")
        let activated = try cli.run(["host", "activate", "--online", url, "--vendor-ca", pki.caCertificate, "--state-dir", "h", "--json"], environment: viaProxy)
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(try activated.json()["activated"] as? Bool == true)
        #expect(proxy.requests.allSatisfy { $0 == "CONNECT localhost:\(port) HTTP/1.1" } && proxy.requests.count == 2)

        // This catalog names no vendor URL: renewal needs it given.
        let noURL = try cli.run("host", "renew", "--vendor-ca", pki.caCertificate, "--state-dir", "h")
        #expect(noURL.status == 1 && noURL.stderr.contains("0xC0A7002B"), "\(noURL.stderr)")
        let renewed = try cli.run("host", "renew", "--online", url, "--vendor-ca", pki.caCertificate, "--state-dir", "h")
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(renewed.stdout.contains("certificate renewed"))

        // The host's store exists once it has served; then it reports.
        #expect(try cli.run("host", "set", "dns-publishing", "off", "--state-dir", "h").status == 0)
        let (host, hostLine) = try Self.start(["host", "serve", "--state-dir", cli.path("h"), "--listen", "127.0.0.1:0", "--admin-listen", "none",
                                               "--log-level", "error"])
        #expect(hostLine.hasPrefix("listening on"), "\(hostLine)")
        host.terminate()
        host.waitUntilExit()
        let sent = try cli.run("host", "report", "--send", "--online", url, "--vendor-ca", pki.caCertificate, "--state-dir", "h", "--json")
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect((try sent.json()["sent"] as? [[String: Any]])?.first?["seq"] as? Int == 1)
        #expect(FileManager.default.fileExists(atPath: cli.path("h/receipts/1.jwt")))

        let audit = try cli.run("vendor", "audit", "--state-dir", "v", "--json").json()
        let kinds = (audit["rows"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds == ["issue-key", "activation", "renewal", "report"])
        let reports = try cli.run("vendor", "reports", "--state-dir", "v", "--json").json()
        #expect((reports["hosts"] as? [[String: Any]])?.first?["reports"] as? Int == 1)

        // Rotation: a new online root, then used; the old one still has a valid certificate.
        let old = try #require((try cli.run("vendor", "roots", "--state-dir", "v", "--json").json()["roots"] as? [[String: Any]])?
            .compactMap { $0["root"] as? [String: Any] }.first { $0["role"] as? String == "online" }?["kid"] as? String)
        let rotated = try cli.run("vendor", "rotate-root", "--offline-key", cli.path("offline-root.jwk"), "--state-dir", "v", "--json")
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let new = try #require(try rotated.json()["kid"] as? String)
        #expect(try cli.run("vendor", "use-root", new, "--state-dir", "v").status == 0)
        let retire = try cli.run("vendor", "retire-root", old, "--state-dir", "v")
        #expect(retire.status == 1 && retire.stderr.contains("0xC0A70029"), "\(retire.stderr)")

        vendor.terminate()
        vendor.waitUntilExit()
        #expect(vendor.terminationReason == .exit && vendor.terminationStatus == 0)
    }
}
