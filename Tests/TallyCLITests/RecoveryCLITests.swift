import Foundation
import Testing
import TallyCore
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` killed at each step of a write, between the synchronous log record and the index derived
/// from it. A debug build dies where `TALLY_TEST_CRASH_AT` says (SIGKILL, see `CrashPoint` in TallyStore); the
/// next opening of the store completes the index from the log, and the count, the clients and the events are
/// exactly what was committed.
@Suite("CLI: the host killed at each step of a write recovers the exact count, clients and events", .serialized)
struct RecoveryCLITests {
    /// What the store must hold: per machine its SKU and requests (every request is a 12290 event).
    struct Expected {
        var machines: [String: (machine: LiveHost.Machine, sku: String, requests: Int)] = [:]

        mutating func stored(_ machine: LiveHost.Machine, sku: String) {
            machines[machine.cmid, default: (machine, sku, 0)].requests += 1
        }

        var events: Int { machines.values.reduce(0) { $0 + $1.requests } }

        func count(_ sku: String) -> Int { machines.values.filter { $0.sku == sku }.count }
    }

    /// A serving host: its process, port (0 when it died before listening) and log.
    struct Serving {
        let process: Process
        let port: Int
        let log: SettingsCLITests.PipeText

        init(_ cli: CLIRunner, crashAt: String? = nil, chunkRows: Int? = nil) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
            process.arguments = ["host", "serve", "--state-dir", cli.path("h"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                 "--log-level", ProcessInfo.processInfo.environment["TALLY_TEST_SERVE_LOG_LEVEL"] ?? "error"]
            var environment = ProcessInfo.processInfo.environment
            environment["TALLY_TEST_CRASH_AT"] = crashAt
            environment["TALLY_TEST_INDEX_CHUNK_ROWS"] = chunkRows.map(String.init)
            // The index is brought up to date only when the test asks (a read that needs it) or the host stops.
            environment["TALLY_TEST_INDEX_INTERVAL"] = "3600"
            process.environment = environment
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = SettingsCLITests.PipeText(out)
            log = SettingsCLITests.PipeText(err)
            let first = stdout.wait { $0.contains("\n") }.split(separator: "\n").first.map(String.init) ?? ""
            port = first.hasPrefix("listening on 127.0.0.1:") ? Int(first.split(separator: ":").last ?? "") ?? 0 : 0
        }

        /// Waits for the process to end and says whether it was killed at `step`.
        func killed(at step: String) -> Bool {
            // Bounded, so a host that never reaches the step fails the test instead of hanging it.
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline { usleep(2_000) }
            if process.isRunning {
                Issue.record("the host never reached \(step)")
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            let text = log.all
            let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
            #expect(killed, "the host was not killed at \(step) (a release build ignores TALLY_TEST_CRASH_AT): \(text)")
            #expect(text.contains("crash point \(step)"), "\(text)")
            return killed
        }

        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// Sends each request on one kept-alive connection (one commit each) until the connection fails; returns the
    /// verified answers, in order (fewer than asked when the host died).
    static func send(_ requests: [(LiveHost.Machine, String)], port: Int, roots: TrustedRoots) throws -> [VerifiedResponse] {
        let connection = ProbeConnection()
        guard connection.connect(port: port) == nil else { return [] }
        var answers: [VerifiedResponse] = []
        for (machine, sku) in requests {
            let (body, nonce) = LiveHost.body(machine, sku: sku, clientTime: Date())
            guard connection.send(ProbeConnection.request(body: body)) == nil, case let .answer(status, answer) = connection.readAnswer() else { break }
            answers.append(try LiveHost.verifyAnswer(status: status, body: answer, machine: machine, nonce: nonce, roots: roots,
                                                     now: Date()))
        }
        return answers
    }

    /// The CMIDs of the log's 12290 events (the log is read directly, not the index).
    static func loggedCMIDs(_ cli: CLIRunner) throws -> [String] {
        try cli.run("host", "events", "--state-dir", "h", "--format", "jsonl", "--id", "12290").stdout.split(separator: "\n").compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ((object?["event"] as? [String: Any])?["fields"] as? [String: Any])?["cmid"] as? String
        }
    }

    /// The store, read by the command line with the host stopped (opening it completes the index), is `expected`.
    static func check(_ cli: CLIRunner, _ expected: Expected, after step: String) throws {
        let clients = try #require(try cli.run("host", "clients", "--state-dir", "h", "--json", "--limit", "100000").json()["clients"] as? [[String: Any]])
        var found: [String: (String, Int)] = [:]
        for client in clients { found[client["cmid"] as? String ?? ""] = (client["sku"] as? String ?? "", client["requests"] as? Int ?? -1) }
        #expect(found.count == clients.count, "\(step): one CMID listed twice")
        #expect(Set(found.keys) == Set(expected.machines.keys), "\(step): clients")
        for (cmid, machine) in expected.machines {
            #expect(found[cmid]?.0 == machine.sku && found[cmid]?.1 == machine.requests, "\(step): \(cmid) is \(String(describing: found[cmid]))")
        }
        let logged = try loggedCMIDs(cli)
        #expect(logged.count == expected.events, "\(step): events")
        #expect(Dictionary(logged.map { ($0, 1) }, uniquingKeysWith: +) == expected.machines.mapValues(\.requests), "\(step): events per CMID")
        let status = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        let classes = status["classes"] as? [String: [String: Int]]
        #expect(classes?["client"]?["currentCount"] == expected.count("studio-pro"), "\(step): \(String(describing: classes))")
        #expect(classes?["server"]?["currentCount"] == expected.count("studio-server"), "\(step): \(String(describing: classes))")
        #expect(status["totalRequests"] as? Int == expected.events, "\(step): totals")
    }

    /// Restarted without a crash point: a known machine is counted as before, a new one makes the count one more.
    static func restartCounts(_ cli: CLIRunner, _ expected: inout Expected, roots: TrustedRoots, step: String) throws {
        let serving = try Serving(cli)
        defer { if serving.process.isRunning { serving.process.terminate() } }
        #expect(serving.port > 0, "\(serving.log.all)")
        let known = try #require(expected.machines.values.first { $0.sku == "studio-pro" })
        let fresh = LiveHost.Machine(name: "fresh")
        let answers = try send([(known.machine, "studio-pro"), (fresh, "studio-pro")], port: serving.port, roots: roots)
        #expect(answers.map(\.claims.cur) == [expected.count("studio-pro"), expected.count("studio-pro") + 1], "\(step): counts after the restart")
        expected.stored(known.machine, sku: "studio-pro")
        expected.stored(fresh, sku: "studio-pro")
        #expect(serving.stop() == 0)
    }

    @Test("log committed, index chunk started, halfway, written, committed, between two chunks, and during start-up recovery")
    func killedAtEachStep() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        #expect(try cli.run("host", "set", "rate-limit", "0", "--state-dir", "h").status == 0)
        let roots = try LiveHost.roots(vendorDirectory: cli.path("v"))
        var expected = Expected()
        // A first round with no crash point: machines of both classes, some asked twice.
        do {
            let serving = try Serving(cli)
            let machines = (0..<6).map { LiveHost.Machine(name: "m\($0)") }
            let requests = machines.enumerated().map { ($1, $0 % 3 == 0 ? "studio-server" : "studio-pro") }
            #expect(try Self.send(requests + requests.prefix(2), port: serving.port, roots: roots).count == 8)
            for (machine, sku) in requests + requests.prefix(2) { expected.stored(machine, sku: sku) }
            #expect(serving.stop() == 0)
            try Self.check(cli, expected, after: "a clean stop")
        }

        // Each step: new machines and known ones ask, the host dies at the step, the store is read back.
        let rounds: [(step: String, occurrence: Int, chunkRows: Int?)] = [
            ("log-committed", 3, nil), ("index-chunk-started", 1, nil), ("index-chunk-halfway", 1, nil),
            ("index-chunk-written", 1, nil), ("index-chunk-committed", 1, nil), ("index-chunk-committed", 2, 3),
        ]
        for round in rounds {
            let name = "\(round.step)@\(round.occurrence)" + (round.chunkRows.map { " (chunks of \($0))" } ?? "")
            let serving = try Serving(cli, crashAt: "\(round.step)@\(round.occurrence)", chunkRows: round.chunkRows)
            defer { if serving.process.isRunning { kill(serving.process.processIdentifier, SIGKILL) } }
            #expect(serving.port > 0, "\(name): \(serving.log.all)")
            let known = Array(expected.machines.values.prefix(2)).map { ($0.machine, $0.sku) }
            let requests = known + (0..<6).map { (LiveHost.Machine(name: "\(round.step)-\($0)"), $0 % 3 == 0 ? "studio-server" : "studio-pro") }
            let answers = try Self.send(requests, port: serving.port, roots: roots)
            if round.step == "log-committed" {
                // The third commit killed the host after its row was durable: stored, never answered.
                #expect(answers.count == round.occurrence - 1, "\(name)")
            } else {
                #expect(answers.count == requests.count, "\(name)")
                // A read that needs the index makes the running host bring it up to date: it dies on the way.
                _ = try cli.run("host", "clients", "--state-dir", "h", "--json")
            }
            guard serving.killed(at: round.step) else { return }
            // Answered requests are stored; one the host died on is stored if the log has it (the log is the truth).
            let logged = Set(try Self.loggedCMIDs(cli))
            for (index, (machine, sku)) in requests.enumerated() where index < answers.count || logged.contains(machine.cmid) {
                #expect(index < answers.count || round.step == "log-committed", "\(name): a request was stored but not answered")
                expected.stored(machine, sku: sku)
            }
            if round.step == "log-committed" { #expect(logged.contains(requests[round.occurrence - 1].0.cmid), "\(name): the committed row is lost") }
            try Self.check(cli, expected, after: name)
            try Self.restartCounts(cli, &expected, roots: roots, step: name)
        }

        // Killed while recovering: rows the index lacks, and a start whose own catch-up dies halfway, then another.
        do {
            let serving = try Serving(cli, crashAt: "log-committed@4")
            let requests = (0..<5).map { (LiveHost.Machine(name: "recovery-\($0)"), "studio-pro") }
            #expect(try Self.send(requests, port: serving.port, roots: roots).count == 3)
            guard serving.killed(at: "log-committed") else { return }
            for (machine, sku) in requests.prefix(4) { expected.stored(machine, sku: sku) }
            let starting = try Serving(cli, crashAt: "index-chunk-halfway", chunkRows: 2)
            #expect(starting.port == 0, "the start-up catch-up had nothing to do")
            guard starting.killed(at: "index-chunk-halfway") else { return }
            try Self.check(cli, expected, after: "a start killed while it recovered")
            try Self.restartCounts(cli, &expected, roots: roots, step: "after recovery")
            try Self.check(cli, expected, after: "the last restart")
        }
    }
}
