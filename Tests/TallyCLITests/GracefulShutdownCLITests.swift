import Foundation
import Testing
import TallyCore
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` stopped with SIGTERM while it holds requests it has read but not yet committed: the service
/// group drains the activation port, then the pipeline. Every request read before the signal gets its committed
/// answer; later ones get a 503 (a refused connection once it has stopped); none gets a reset, and the process
/// exits 0.
///
/// The log's write lock is held from outside the process (as by a disk that stalls), so the requests are
/// read and queued but cannot commit until the test lets them: what is in flight at the signal is known, not
/// guessed from timing.
@Suite("CLI: SIGTERM under load answers every request read, refuses the rest cleanly", .serialized)
struct GracefulShutdownCLITests {
    @Test("requests read before SIGTERM are committed and answered; new connections get 503; idle ones end cleanly; exit 0")
    func drainsUnderLoad() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        #expect(try cli.run("host", "set", "rate-limit", "0", "--state-dir", "h").status == 0)
        let roots = try LiveHost.roots(vendorDirectory: cli.path("v"))
        let serving = try RecoveryCLITests.Serving(cli)
        defer { if serving.process.isRunning { kill(serving.process.processIdentifier, SIGKILL) } }
        try #require(serving.port > 0, "\(serving.log.all)")

        // Idle keep-alive connections, open before the signal, that send nothing until after it.
        let idle = (0..<3).map { _ in ProbeConnection(timeout: 20) }
        for connection in idle { try #require(connection.connect(port: serving.port) == nil) }

        // The store stalls: requests are read and queued, none can commit.
        let lock = try SQLiteWriteLock(path: cli.path("h") + "/host.sqlite")
        var released = false
        defer { if !released { try? lock.release() } }
        let machines = (0..<8).map { LiveHost.Machine(name: "in-flight-\($0)") }
        var inFlight: [(ProbeConnection, LiveHost.Machine, String)] = []
        for machine in machines {
            let connection = ProbeConnection(timeout: 20)
            try #require(connection.connect(port: serving.port) == nil)
            let (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: Date())
            try #require(connection.send(ProbeConnection.request(body: body)) == nil)
            inFlight.append((connection, machine, nonce))
        }
        let unread = KernelSockets.waitUntilRead(port: serving.port, inFlight.map(\.0))
        try #require(unread.isEmpty, "the host did not read every request: \(unread)")

        kill(serving.process.processIdentifier, SIGTERM)

        // Draining: a new connection is answered 503 at once (the listener stays open until the drain ends, so
        // nothing waits in its listen queue to be reset). One made before the drain began waits in the pipeline
        // with the rest: it is kept, and read once the store moves.
        var late: [ProbeConnection] = []
        var refusedWhileDraining = false
        let deadline = Date().addingTimeInterval(10)
        while !refusedWhileDraining, Date() < deadline {
            let probe = ProbeConnection(timeout: 20)
            if let failed = probe.connect(port: serving.port) {
                Issue.record("a new connection while the host drains: \(failed)")
                break
            }
            let (body, _) = LiveHost.body(LiveHost.Machine(name: "late-\(late.count)"), sku: "studio-pro", clientTime: Date())
            if let failed = probe.send(ProbeConnection.request(body: body)) {
                Issue.record("a request sent while the host stops: \(failed)")
                break
            }
            guard probe.readable(withinMilliseconds: 50) else {
                late.append(probe)
                continue
            }
            let outcome = probe.readAnswer()
            switch outcome {
            case let .answer(503, text):
                #expect(String(decoding: text, as: UTF8.self).contains(ResultCode.storeUnavailable.hex), "\(outcome)")
                #expect(probe.readEnd() == .closed, "a refused connection ends cleanly")
                refusedWhileDraining = true
            case .closed: break
            default: Issue.record("a new connection while the host drains ended as \(outcome)")
            }
        }
        #expect(refusedWhileDraining, "no new connection was answered 503 within 10 s of SIGTERM")

        // A request on a connection that was idle at the signal: 503 (connection closed after it) or the end of
        // the stream (the host half-closed it), never a reset.
        for (number, connection) in idle.enumerated() {
            let (body, _) = LiveHost.body(LiveHost.Machine(name: "idle-\(number)"), sku: "studio-pro", clientTime: Date())
            let outcome = connection.send(ProbeConnection.request(body: body)) ?? connection.readAnswer()
            switch outcome {
            case let .answer(status, text):
                #expect(status == 503, "an idle connection's request after SIGTERM: \(outcome)")
                #expect(String(decoding: text, as: UTF8.self).contains(ResultCode.storeUnavailable.hex))
            case .closed: break
            default: Issue.record("an idle connection's request after SIGTERM ended as \(outcome)")
            }
        }
        #expect(serving.process.isRunning, "the host stopped before answering what it had read: \(serving.log.all)")

        // The store moves again: every request read before the signal gets its committed, verifiable answer.
        try lock.release()
        released = true
        for (connection, machine, nonce) in inFlight {
            let outcome = connection.readAnswer()
            guard case let .answer(status, body) = outcome else {
                Issue.record("\(machine.name): a request read before SIGTERM ended as \(outcome)")
                continue
            }
            #expect(status == 200, "\(machine.name): \(outcome)")
            let answer = try LiveHost.verifyAnswer(status: status, body: body, machine: machine, nonce: nonce, roots: roots, now: Date())
            #expect(answer.claims.sub == machine.cmid)
            // Answered while draining: the connection is closed after the answer, cleanly.
            #expect(connection.readEnd() == .closed, "\(machine.name)")
        }

        var answeredLate = 0
        var pattern = ""
        for probe in late {
            let outcome = probe.readAnswer()
            switch outcome {
            case .answer(200, _): answeredLate += 1; pattern += "2"
            case .answer(503, _): pattern += "5"
            case .closed: pattern += "c"
            case .reset: pattern += "R"
            default: pattern += "?"
            }
        }
        #expect(!pattern.contains("R") && !pattern.contains("?"), "connections made while the host stopped, in order (2: 200, 5: 503, c: closed, R: reset): \(pattern)\n\(serving.log.all)")

        let exitDeadline = Date().addingTimeInterval(30)
        while serving.process.isRunning, Date() < exitDeadline { usleep(2_000) }
        try #require(!serving.process.isRunning, "the host did not exit within 30 s of SIGTERM: \(serving.log.all)")
        #expect(serving.process.terminationReason == .exit && serving.process.terminationStatus == 0, "\(serving.log.all)")
        // A graceful stop is no failure: no line at level error (an indexer round cut short by it once logged one).
        let errors = serving.log.all.split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first == "error" }
        #expect(errors.isEmpty, "\(errors)")

        // Stopped: the port refuses connections.
        #expect(ProbeConnection(timeout: 5).connect(port: serving.port) == .refused)

        // What was answered is stored: every in-flight machine is a client with one request.
        let clients = try #require(try cli.run("host", "clients", "--state-dir", "h", "--json", "--limit", "1000").json()["clients"] as? [[String: Any]])
        let stored = Set(clients.compactMap { $0["cmid"] as? String })
        for machine in machines { #expect(stored.contains(machine.cmid), "\(machine.name) was answered but is not stored") }
        #expect(clients.count == machines.count + answeredLate, "\(clients.count) clients")
        let status = try cli.run("host", "status", "--state-dir", "h", "--json").json()
        #expect(status["totalRequests"] as? Int == machines.count + answeredLate)
    }
}
