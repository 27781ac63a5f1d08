import Foundation
import Testing
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` started under a low open-file limit, as a manual start with `ulimit -n` would.
@Suite("CLI: host serve under ulimit -n 256", .serialized)
struct FileLimitCLITests {
    /// Starts `sh -c 'ulimit -n 256; exec tally host serve …'` and reads its output until it listens.
    static func serveUnderLimit(_ cli: CLIRunner) throws -> (Process, port: Int, output: Pipe, seen: String) {
        try serveInShell(cli, setup: "ulimit -n 256", options: "--threads 1")
    }

    /// Starts `sh -c 'SETUP && exec tally host serve … OPTIONS'` (a limit a manual start would set) and reads its
    /// output until it listens.
    static func serveInShell(_ cli: CLIRunner, setup: String, options: String = "") throws -> (Process, port: Int, output: Pipe, seen: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", setup + #" && exec "$0" host serve --state-dir "$1" --listen 127.0.0.1:0 --admin-listen none --log-level info "# + options,
                             CLIRunner.binary, cli.path("h")]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var text = ""
        while !text.contains("listening on 127.0.0.1:") || !text.hasSuffix("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map(String.init) ?? ""
        return (process, Int(line.split(separator: ":").last ?? "") ?? 0, output, text)
    }

    @Test("the host lowers max-connections to what 256 descriptors allow and says so; past it connections are refused at once, never left hanging; a client is served again once slots free")
    func lowLimit() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        // One address may hold every slot here: what is tested is the descriptor limit, not the per-address cap.
        #expect(try cli.run("host", "set", "max-connections-per-address", "100000", "--state-dir", "h").status == 0)
        let (server, port, _, seen) = try Self.serveUnderLimit(cli)
        defer { if server.isRunning { server.terminate() } }
        #expect(port > 0, "\(seen)")
        #expect(seen.contains("max-connections lowered to what the open-file limit allows"), "\(seen)")
        #expect(seen.contains("lowered=64"), "\(seen)")

        // Hold the 64 slots, then try 100 more: each is answered 503 within the client's 10 s timeout (a hung
        // connection would time out instead), and the host never runs out of descriptors.
        var held: [RawHTTPConnection] = []
        for _ in 0..<64 { held.append(try RawHTTPConnection(port: port)) }
        var refused = 0
        for _ in 0..<100 {
            let extra = try RawHTTPConnection(port: port, timeout: 10)
            let answer = try extra.readResponse()
            if answer.status == 503, String(decoding: answer.body, as: UTF8.self).contains("0xC0A7000C") { refused += 1 }
        }
        #expect(refused == 100)
        // The held connections were accepted and are served: one of them sends a request and gets an answer.
        let body = Data(#"{"not":"a request"}"#.utf8)
        #expect(try held[0].post("/v1/activate", body: body).status == 400)
        // Once slots are free, a new client is served (the slots free as the host sees the connections close).
        held.removeAll()
        var status = 0
        for _ in 0..<200 where status != 400 {
            status = (try? RawHTTPConnection(port: port).post("/v1/activate", body: body, keepAlive: false).status) ?? 0
            if status != 400 { usleep(10_000) }
        }
        #expect(status == 400)
        server.terminate()
        server.waitUntilExit()
    }
}
