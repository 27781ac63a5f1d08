import Foundation
import Testing
import TallyCore
import TallyPostgresTestSupport
import TallyTestSupport

/// Two `tally host serve` processes of one licence on one PostgreSQL: one is SIGKILLed, its clients go to the
/// other, which knows them.
@Suite("CLI: failover between two hosts on one PostgreSQL store", .serialized)
struct FailoverCLITests {
    /// Starts `tally host serve` for the state directory `dir` on port 0; returns the process and its port.
    static func serve(_ cli: CLIRunner, _ dir: String) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        process.arguments = ["host", "serve", "--state-dir", cli.path(dir), "--listen", "127.0.0.1:0", "--admin-listen", "none", "--log-level", "error"]
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
        return (process, Int(line.split(separator: ":").last ?? "") ?? 0)
    }

    /// One activation; the answer's result and count (`cur`, or a ticket's `cnt`), read from its token (other tests verify the signature).
    static func activate(port: Int, _ machine: LiveHost.Machine) throws -> (status: Int, result: String, count: Int) {
        let (body, _) = LiveHost.body(machine, sku: "studio-pro", clientTime: Date())
        let response = try RawHTTPConnection(port: port).post(ProtocolPaths.activate, body: body, keepAlive: false)
        guard response.status == 200 else { return (response.status, "", 0) }
        let answer = try TallyJSON.decode(ActivationAnswerBody.self, from: response.body)
        let token = answer.token ?? answer.response ?? ""
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]),
              let claims = try JSONSerialization.jsonObject(with: payload) as? [String: Any] else { return (200, "no token", 0) }
        let code = (claims["res"] as? String) ?? (claims["res"] as? Int).map { ResultCode(UInt32($0)).hex } ?? ""
        return (200, code, (claims["cur"] as? Int) ?? (claims["cnt"] as? Int) ?? 0)
    }

    /// Activates one host of one licence in each of `dirs` (a vendor in `v`), DNS publishing off, on `store`.
    static func hostsOfOneLicence(_ cli: CLIRunner, _ dirs: [String], store: String) throws {
        try cli.run("vendor", "init", "--state-dir", "v")
        let key = try #require(try cli.run("vendor", "issue-host-key", "--state-dir", "v", "--group", "studio-2026", "--json").json()["key"] as? String)
        for dir in dirs {
            try cli.run("host", "install-key", key, "--state-dir", dir, "--vendor-jwk", "v/vendor-public.jwk")
            try cli.run("host", "activate", "--state-dir", dir, "--offline-request", "\(dir).jwt")
            try cli.run("vendor", "activate-host", "\(dir).jwt", "--out", "\(dir)-cert.jwt", "--state-dir", "v")
            #expect(try cli.run("host", "activate", "--certificate", "\(dir)-cert.jwt", "--state-dir", dir).status == 0)
            #expect(try cli.run("host", "set", "dns-publishing", "off", "--state-dir", dir).status == 0)
            #expect(try cli.run("host", "set", "store", store, "--state-dir", dir).status == 0)
        }
    }

    @Test("three host processes on one PostgreSQL, 40 clients at once spread over them: counts 1…40 each exactly once, the 25th machine gets the first ticket")
    func threeHostsFortyClientsAtOnce() throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        let dirs = ["h", "h2", "h3"]
        try Self.hostsOfOneLicence(cli, dirs, store: cluster.url())
        let served = try dirs.map { try Self.serve(cli, $0) }
        defer {
            for (process, _) in served where process.isRunning { process.terminate() }
        }
        // 40 threads, each one machine, released together; machine i asks host i % 3.
        let machines = (0..<40).map { _ in LiveHost.Machine() }
        let answers = ConcurrentAnswers()
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for index in machines.indices {
            done.enter()
            let thread = Thread {
                gate.wait()
                answers.add(index, Result { try Self.activate(port: served[index % 3].1, machines[index]) })
                done.leave()
            }
            thread.start()
        }
        for _ in machines { gate.signal() }
        done.wait()
        let results = try answers.values.mapValues { try $0.get() }
        #expect(results.count == 40)
        #expect(results.values.allSatisfy { $0.status == 200 }, "\(results.values.filter { $0.status != 200 })")
        // Each count once, as if the requests of the three hosts had been decided one at a time.
        #expect(results.values.map(\.count).sorted() == Array(1...40))
        // Below 25 no ticket; the machine counted 25th gets the first one, and every later one gets one.
        for answer in results.values {
            #expect(answer.result == (answer.count < 25 ? ResultCode.countTooLow.hex : ResultCode.success.hex), "\(answer)")
        }
        // The client inventory is derived from the event log behind the answers; reading it through a host derives first.
        let listed = try cli.run("host", "clients", "--state-dir", "h3", "--json", "--limit", "100").json()["clients"] as? [[String: Any]]
        #expect(Set((listed ?? []).compactMap { $0["cmid"] as? String }).count == 40)
        #expect(try cluster.psql("SELECT COUNT(*) FROM clients") == "40")
        #expect(try cluster.psql("SELECT COUNT(DISTINCT host_id) FROM events WHERE event_id = 12290") == "3")
        let status = try cli.run("host", "status", "--state-dir", "h3", "--json").json()
        #expect(((status["classes"] as? [String: Any])?["client"] as? [String: Any])?["currentCount"] as? Int == 40)
        #expect((status["siteHosts"] as? [[String: Any]])?.count == 3)
    }

    @Test("host A SIGKILLed mid-run: its clients renew on host B, counted once; new machines continue the count; after A restarts nothing answered is missing")
    func killedHostsClientsMoveOn() throws {
        let cluster = try PostgresCluster()
        defer { cluster.stop() }
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try Self.hostsOfOneLicence(cli, ["h", "h2"], store: cluster.url())
        var (a, portA) = try Self.serve(cli, "h")
        let (b, portB) = try Self.serve(cli, "h2")
        defer {
            for process in [a, b] where process.isRunning { process.terminate() }
        }
        let machines = (0..<25).map { _ in LiveHost.Machine() }
        var answered = 0
        // 20 machines, alternately on A and B: one count.
        for index in 0..<20 {
            let answer = try Self.activate(port: index % 2 == 0 ? portA : portB, machines[index])
            #expect(answer.status == 200 && answer.count == index + 1, "machine \(index): \(answer)")
            answered += 1
        }
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        // A's clients renew on B: B knows them, the count does not move.
        for index in stride(from: 0, to: 20, by: 2) {
            let answer = try Self.activate(port: portB, machines[index])
            #expect(answer.status == 200 && answer.count == 20, "machine \(index) on B: \(answer)")
            answered += 1
        }
        // New machines go on from 20; the 25th gets the first ticket.
        for index in 20..<25 {
            let answer = try Self.activate(port: portB, machines[index])
            #expect(answer.status == 200 && answer.count == index + 1, "machine \(index) on B: \(answer)")
            #expect(answer.result == (index == 24 ? ResultCode.success.hex : ResultCode.countTooLow.hex), "machine \(index): \(answer)")
            answered += 1
        }
        // A restarts on the same store: every answered request is there once, every machine once.
        (a, portA) = try Self.serve(cli, "h")
        let again = try Self.activate(port: portA, machines[1])
        #expect(again.status == 200 && again.count == 25 && again.result == ResultCode.success.hex, "\(again)")
        answered += 1
        #expect(try cluster.psql("SELECT COUNT(*) FROM events WHERE event_id = 12290") == String(answered))
        let listed = try cli.run("host", "clients", "--state-dir", "h2", "--json", "--limit", "100").json()["clients"] as? [[String: Any]]
        #expect(Set((listed ?? []).compactMap { $0["cmid"] as? String }).count == 25)
        #expect(try cluster.psql("SELECT COUNT(*) FROM clients") == "25")
        #expect(try cluster.psql("SELECT SUM(machines) FROM machine_days") == "25")
        let status = try cli.run("host", "status", "--state-dir", "h2", "--json").json()
        #expect(((status["classes"] as? [String: Any])?["client"] as? [String: Any])?["currentCount"] as? Int == 25)
        #expect((status["siteHosts"] as? [[String: Any]])?.count == 2)
    }
}

/// The answers of several threads, by machine.
final class ConcurrentAnswers: Sendable {
    private let lock = NSLock()
    nonisolated(unsafe) private var collected: [Int: Result<(status: Int, result: String, count: Int), any Error>] = [:]
    // nonisolated(unsafe): read and written only under `lock`.

    func add(_ index: Int, _ result: Result<(status: Int, result: String, count: Int), any Error>) {
        lock.lock()
        collected[index] = result
        lock.unlock()
    }

    var values: [Int: Result<(status: Int, result: String, count: Int), any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
