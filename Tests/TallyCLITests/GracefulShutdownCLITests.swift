import Foundation
import Testing
import TallyCore
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `tally host serve` receiving SIGTERM under load, seen from raw sockets: the service group's graceful shutdown
/// drains the activation port.
@Suite("CLI: SIGTERM under load: every request read gets its committed answer, later ones 503 or refused, none reset", .serialized)
struct GracefulShutdownCLITests {
    /// One request on one connection, and what became of it.
    final class Sent {
        let connection: ProbeConnection
        let machine = LiveHost.Machine(name: "drain")
        let body: Data
        let nonce: String
        var outcome: ProbeConnection.Outcome?

        init(_ connection: ProbeConnection) {
            self.connection = connection
            (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: Date())
        }

        var request: Data { ProbeConnection.request(body: body) }
    }

    /// Connects a new probe, failing the test if it cannot.
    static func connected(_ port: Int) throws -> ProbeConnection {
        let probe = ProbeConnection()
        if let failure = probe.connect(port: port) { throw ProbeConnection.Failure(description: "connect: \(failure)") }
        return probe
    }

    @Test("keep-alive and new connections in flight at SIGTERM: answered and stored; refused, 503 or closed after; no reset; exit 0")
    func drainUnderLoad() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        #expect(try cli.run("host", "set", "rate-limit", "0", "--state-dir", "h").status == 0)
        let roots = try LiveHost.roots(vendorDirectory: cli.path("v"))
        let (server, port, _) = try HostServeCLITests.serve(cli)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }

        // 24 kept-alive connections, each answered once (and stored).
        var all: [Sent] = []
        var keptAlive: [ProbeConnection] = []
        for _ in 0..<24 {
            let sent = Sent(try Self.connected(port))
            #expect(sent.connection.send(sent.request) == nil)
            sent.outcome = sent.connection.readAnswer()
            all.append(sent)
            keptAlive.append(sent.connection)
        }

        // From here the host's commits wait: the test holds the log's write lock (as a stalled disk would).
        let lock = try SQLiteWriteLock(path: cli.path("h/host.sqlite"))
        // In flight at the signal: a second request on 16 kept-alive connections and one on 16 new connections,
        // each read whole by the host (its socket's receive queue is empty) and waiting for its commit.
        var inFlight: [Sent] = keptAlive.prefix(16).map { Sent($0) }
        for _ in 0..<16 { inFlight.append(Sent(try Self.connected(port))) }
        for sent in inFlight { #expect(sent.connection.send(sent.request) == nil) }
        // Not read whole at the signal: 4 connections that sent the head and half the body.
        let partial = try (0..<4).map { _ in Sent(try Self.connected(port)) }
        for sent in partial { #expect(sent.connection.send(sent.request.dropLast(sent.body.count / 2)) == nil) }
        let unread = KernelSockets.waitUntilRead(port: port, inFlight.map(\.connection) + partial.map(\.connection))
        #expect(unread.isEmpty, "the host did not read the requests: \(unread)")
        // 8 kept-alive connections stay idle.
        let idle = keptAlive.suffix(8).map { Sent($0) }

        kill(server.processIdentifier, SIGTERM)

        // New connections, each with a whole request, until one is refused: the port stopped listening.
        var late: [Sent] = []
        var refused = 0
        for _ in 0..<5_000 {
            let probe = ProbeConnection()
            if let failure = probe.connect(port: port) {
                #expect(failure == .refused, "connect: \(failure)")
                refused += 1
                break
            }
            let sent = Sent(probe)
            sent.outcome = sent.connection.send(sent.request)
            late.append(sent)
        }
        #expect(refused == 1, "the port still accepted connections after 5,000 tries")
        // After the port closed: the partial requests end, and each idle connection sends one.
        for sent in partial { sent.outcome = sent.connection.send(sent.body.suffix(sent.body.count / 2)) }
        for sent in idle { sent.outcome = sent.connection.send(sent.request) }
        try lock.release()

        for sent in inFlight + partial + idle + late where sent.outcome == nil { sent.outcome = sent.connection.readAnswer() }
        for sent in all where sent.outcome == nil { sent.outcome = sent.connection.readAnswer() }

        // Read whole before the signal: the committed answer, signed, for this machine, then the connection closes.
        for sent in inFlight {
            guard case let .answer(status, body) = sent.outcome else {
                Issue.record("a request read before SIGTERM got \(sent.outcome!) instead of its answer")
                continue
            }
            #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
            _ = try LiveHost.verifyAnswer(status: status, body: body, machine: sent.machine, nonce: sent.nonce, roots: roots, now: Date())
            #expect(sent.connection.readEnd() == .closed)
        }
        // Finished after the port closed: 503, then the connection closes.
        for sent in partial {
            guard case let .answer(status, body) = sent.outcome else {
                Issue.record("a request finished after SIGTERM got \(sent.outcome!), not 503")
                continue
            }
            #expect(status == 503)
            #expect(String(decoding: body, as: UTF8.self).contains("shutting down"))
            #expect(sent.connection.readEnd() == .closed)
        }
        // Sent after the signal: answered (read before the port drained), 503, or closed; never reset.
        var kinds: [String: Int] = [:]
        for sent in idle + late {
            switch sent.outcome! {
            case let .answer(status, _):
                #expect(status == 200 || status == 503, "\(sent.outcome!)")
                kinds["\(status)", default: 0] += 1
                #expect(sent.connection.readEnd() == .closed)
            case .closed: kinds["closed", default: 0] += 1
            default: Issue.record("a request sent after SIGTERM got \(sent.outcome!)")
            }
        }
        server.waitUntilExit()
        #expect(server.terminationReason == .exit && server.terminationStatus == 0)

        // The store holds exactly the requests answered 200, each once.
        let answered = Set((all + inFlight + idle + late).filter {
            if case .answer(200, _) = $0.outcome { true } else { false }
        }.map(\.machine.cmid))
        #expect(answered.count >= all.count + inFlight.count)
        let clients = try #require(try cli.run("host", "clients", "--state-dir", "h", "--json", "--limit", "100000").json()["clients"] as? [[String: Any]])
        #expect(Set(clients.compactMap { $0["cmid"] as? String }) == answered)
        #expect(clients.count == answered.count)
        let events = try cli.run("host", "events", "--state-dir", "h", "--format", "jsonl", "--id", "12290").stdout.split(separator: "\n")
        let eventCMIDs = events.compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ((object?["event"] as? [String: Any])?["fields"] as? [String: Any])?["cmid"] as? String
        }
        #expect(eventCMIDs.count == events.count)
        #expect(eventCMIDs.sorted() == answered.sorted())
        print("drain under load: \(inFlight.count) in flight answered, \(late.count) new connections after SIGTERM, idle and late: \(kinds.sorted { $0.key < $1.key })")
    }
}
