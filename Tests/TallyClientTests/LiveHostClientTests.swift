import Foundation
import Testing
import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// The client against the real host (SwiftNIO, SQLite) on loopback: the two halves agree on the protocol.
@Suite("Client against a live host", .serialized)
struct LiveHostClientTests {
    /// Runs `body` with a live host on a manual clock, and stops the host whatever happens.
    func withLiveHost(_ body: (LiveHost) throws -> Void) async throws {
        let live = try await LiveHost(clock: .manual(Fixed.epoch))
        do {
            try body(live)
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test("five server-class machines: four refusals with rising counts, then a ticket; the first retries and activates")
    func threshold() async throws {
        try await withLiveHost { live in
            let profile = try live.fixture.profile()
            let key = try #require(profile.skus.first { $0.id == "studio-server" }?.setupKey)
            let temp = TemporaryDirectory()
            var clients: [TallyClient] = []
            var outcomes: [ActivationOutcome] = []
            for i in 1...5 {
                let client = TallyClient(stateDirectory: temp.path("c\(i)"),
                                         identity: MachineIdentity(machineID: "live-\(i)", name: "pc-\(i)"), profile: profile)
                try client.installKey(key, now: live.clock.now())
                try client.setHost("127.0.0.1:\(live.port)")
                outcomes.append(try client.activate(now: live.clock.now()))
                clients.append(client)
            }
            #expect(outcomes.map(\.result) == [.countTooLow, .countTooLow, .countTooLow, .countTooLow, .success])
            #expect(outcomes.map(\.hostCount) == [1, 2, 3, 4, 5])
            #expect(outcomes.allSatisfy { $0.requiredCount == 5 })
            #expect(outcomes.map(\.licenseStatus) == [.initialGrace, .initialGrace, .initialGrace, .initialGrace, .licensed])

            // Nothing is due before the activation interval has passed.
            #expect(try clients[0].renewIfDue(now: live.clock.now()).isEmpty)
            live.clock.advance(by: 3 * Fixed.hour)
            let retried = try clients[0].renewIfDue(now: live.clock.now())
            #expect(retried.map(\.granted) == [true])
            let report = try clients[0].status(now: live.clock.now())
            #expect(report.licenseStatus == .licensed)
            #expect(report.ticket?.hostID == live.fixture.certificate.claims.sub)
            #expect(report.host == "127.0.0.1:\(live.port)")
        }
    }

    @Test("protocol 2: the client keeps the certificate beside its ticket, names it by hch, and is still Licensed after a renewal without it")
    func heldCertificate() async throws {
        try await withLiveHost { live in
            let profile = try live.fixture.profile()
            let key = try #require(profile.skus.first { $0.id == "studio-server" }?.setupKey)
            let temp = TemporaryDirectory()
            var last: TallyClient?
            for i in 1...5 {
                let client = TallyClient(stateDirectory: temp.path("c\(i)"),
                                         identity: MachineIdentity(machineID: "held-\(i)", name: "pc-\(i)"), profile: profile)
                try client.installKey(key, now: live.clock.now())
                try client.setHost("127.0.0.1:\(live.port)")
                _ = try client.activate(now: live.clock.now())
                last = client
            }
            let client = try #require(last)
            let directory = StateDirectory(temp.path("c5"))
            let machine = try directory.readJSON(ClientMachine.self, from: "machine.json")
            let license = try #require(machine.licenses["studio-server"])
            #expect(license.certificate == live.fixture.certificate.compact)
            #expect(machine.lastAnswerCertificate == live.fixture.certificate.compact)
            let ticket = try #require(license.ticket)
            #expect(try JWS.parse(ticket, expecting: .ticket).header.hct == nil)
            // The renewal names the certificate held, so the host leaves it out; the client verifies with its own.
            live.clock.advance(by: 8 * Fixed.day)
            let renewed = try client.activate(now: live.clock.now())
            #expect(renewed.granted)
            let after = try directory.readJSON(ClientMachine.self, from: "machine.json")
            #expect(after.licenses["studio-server"]?.ticket != ticket)
            #expect(after.licenses["studio-server"]?.certificate == live.fixture.certificate.compact)
            #expect(try client.status(now: live.clock.now()).licenseStatus == .licensed)
        }
    }

    @Test("thirty machines activating at once in one process (the demo's shape): counts 1 to 30, six tickets")
    func thirtyAtOnce() async throws {
        try await withLiveHost { live in
            let profile = try live.fixture.profile()
            let key = try #require(profile.skus.first { $0.id == "studio-pro" }?.setupKey)
            let temp = TemporaryDirectory()
            let now = live.clock.now()
            let clients = try (1...30).map { i in
                let client = TallyClient(stateDirectory: temp.path("c\(i)"),
                                         identity: MachineIdentity(machineID: "demo-\(i)", name: "desk-\(i)"), profile: profile)
                try client.installKey(key, now: now)
                try client.setHost("127.0.0.1:\(live.port)")
                return client
            }
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: clients.count) { i in
                results.add(Result { try clients[i].activate(now: now) })
            }
            let outcomes = try results.all.map { try $0.get() }
            #expect(outcomes.count == 30)
            #expect(outcomes.compactMap(\.hostCount).sorted() == Array(1...30))
            #expect(outcomes.filter(\.granted).count == 6)
            #expect(outcomes.filter { $0.result == .countTooLow }.count == 24)
            #expect(Set(outcomes.map(\.cmid)).count == 30)
        }
    }

    @Test("a SKU the host's group does not cover is refused with C004F042, signed")
    func skuNotCovered() async throws {
        let fixture = try ActivatedHost(group: "studio-2025", now: Fixed.epoch)
        let live = try await LiveHost(fixture: fixture, clock: .manual(Fixed.epoch))
        do {
            let profile = try fixture.profile()
            let temp = TemporaryDirectory()
            let client = TallyClient(stateDirectory: temp.path("c"), identity: MachineIdentity(machineID: "x", name: "x"), profile: profile)
            try client.installKey(try #require(profile.skus.first { $0.id == "studio-pro" }?.setupKey), now: Fixed.epoch)
            try client.setHost("127.0.0.1:\(live.port)")
            let outcome = try client.activate(now: Fixed.epoch)
            #expect(outcome.result == .skuNotCovered)
            #expect(!outcome.granted)
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }
}

/// Outcomes gathered from several threads.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Result<ActivationOutcome, any Error>] = []

    func add(_ result: Result<ActivationOutcome, any Error>) { lock.withLock { stored.append(result) } }
    var all: [Result<ActivationOutcome, any Error>] { lock.withLock { stored } }
}
