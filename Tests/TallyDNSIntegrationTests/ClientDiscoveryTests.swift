import Foundation
import TallyClient
import TallyCore
import TallyDNS
import TallyDNSTestSupport
import TallyFiles
import TallyHost
import TallyTestSupport
import Testing
@testable import TallyClient

#if canImport(Glibc)
import Glibc
#endif

extension DNSScenarios {
    /// The discovery scenarios: a client finds hosts through BIND, in RFC 2782 order, skips hosts that do
    /// not answer, caches the one that did, and reports each DNS failure with its KMS code.
    @Suite struct ClientDiscoveryTests {
        /// A client that asks only the test's named (never the machine's resolv.conf), in domain tally.test.
        static func client(_ live: LiveHost, _ temp: TemporaryDirectory, nameServers: [String], name: String = "pc-01",
                           resolvConf: String = "/dev/null", domain: String? = "tally.test") throws -> TallyClient {
            let profile = try live.fixture.profile()
            let client = TallyClient(stateDirectory: temp.path(name), identity: MachineIdentity(machineID: "machine-\(name)", name: name),
                                     profile: profile, connectTimeout: 1, readTimeout: 5,
                                     discovery: DiscoveryOptions(resolvConfPath: resolvConf, nameServers: nameServers, timeout: 1, attempts: 1))
            _ = try client.installKey(profile.skus.first { $0.id == "studio-pro" }!.setupKey, now: live.clock.now())
            if let domain { try client.setDomain(domain) }
            return client
        }

        func code(_ body: () throws -> Any) -> ResultCode? {
            do {
                _ = try body()
                return nil
            } catch let error as TallyError {
                return error.code
            } catch {
                return nil
            }
        }

        @Test func aHostPublishesItselfAndAClientDiscoversItAndActivates() async throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            var settings = try HostSettings.load(from: live.runtime.directory)
            settings.dnsPublishList = [DNSPublishEntry(domain: "tally.test")]
            settings.dnsKeyFile = named.keyFile
            settings.dnsPrimary = named.server.description
            settings.dnsNameServers = [named.server.description]
            settings.dnsTarget = "host1.tally.test"
            try settings.save(to: live.runtime.directory)
            _ = await live.runtime.publishDNSOnce()

            let temp = TemporaryDirectory()
            let client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
            let outcome = try client.activate(now: live.clock.now())
            // One machine is below the threshold: a signed refusal with the host's count is an answer.
            #expect(outcome.result == .countTooLow)
            #expect(outcome.host == "127.0.0.1:\(live.port)")
            let report = try client.status(now: live.clock.now())
            #expect(report.hostNameFromDNS == "host1.tally.test")
            #expect(report.host == "127.0.0.1:\(live.port)")
            #expect(report.hostCaching)
            #expect(report.cachedHost == "127.0.0.1:\(live.port)")
        }

        @Test func theSearchListIsTriedInOrderOverIPv6() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) host1"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            // resolv.conf gives the search list (first a zone named does not serve, then tally.test); the name
            // server is named on ::1.
            let resolvConf = temp.path("resolv.conf")
            try "search elsewhere.example tally.test\nnameserver 192.0.2.53\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)
            let client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.serverV6.description], resolvConf: resolvConf, domain: nil)
            let outcome = try client.activate(now: live.clock.now())
            #expect(outcome.result == .countTooLow)
            #expect(try client.status(now: live.clock.now()).hostNameFromDNS == "host1.tally.test")
        }

        @Test func aStalledPreferredHostIsSkippedForTheNextOne() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            // Priority 0: a listener that accepts connections and never answers. Priority 10: the real host.
            let stalled = LoopbackSockets.stalledTCP()
            defer { close(stalled.fd) }
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(stalled.port) host2", "_tally._tcp IN SRV 10 0 \(live.port) host1"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            let client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
            let outcome = try client.activate(now: live.clock.now())
            #expect(outcome.result == .countTooLow)
            #expect(outcome.host == "127.0.0.1:\(live.port)")
            // Both were tried, in priority order: a 12288 event for each.
            let sent = try client.events().filter { $0.id == .requestSent }.compactMap { $0.fields["host"] }
            #expect(sent == ["127.0.0.1:\(stalled.port)", "127.0.0.1:\(live.port)"])
            #expect(try client.settings().cachedHost == HostAddress(host: "127.0.0.1", port: live.port))
        }

        @Test func theCachedHostIsReusedWithoutDNSAndRediscoveredWhenItFails() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let stalled = LoopbackSockets.stalledTCP()
            defer { close(stalled.fd) }
            let temp = TemporaryDirectory()
            let client: TallyClient
            do {
                let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) host1"])
                defer { named.stop() }
                client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
                #expect(try client.activate(now: live.clock.now()).host == "127.0.0.1:\(live.port)")
            }
            // named is gone: the cached host answers without any DNS lookup.
            #expect(try client.activate(now: live.clock.now()).host == "127.0.0.1:\(live.port)")

            // The cached host stops answering: the client rediscovers (here through a new named) and moves on.
            let state = StateDirectory(temp.path("pc-01"))
            var settings = try state.readJSON(ClientSettings.self, from: "settings.json")
            settings.cachedHost = HostAddress(host: "127.0.0.1", port: Int(stalled.port))
            try state.writeJSON(settings, to: "settings.json")
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) host1"])
            defer { named.stop() }
            let moved = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
            #expect(try moved.activate(now: live.clock.now()).host == "127.0.0.1:\(live.port)")
            let sent = try moved.events().filter { $0.id == .requestSent }.compactMap { $0.fields["host"] }
            #expect(sent.suffix(2) == ["127.0.0.1:\(stalled.port)", "127.0.0.1:\(live.port)"])
            #expect(try moved.settings().cachedHost == HostAddress(host: "127.0.0.1", port: live.port))

            // Caching off (ckhc): nothing is cached, every activation discovers.
            try moved.setHostCaching(false)
            #expect(try moved.activate(now: live.clock.now()).host == "127.0.0.1:\(live.port)")
            #expect(try moved.settings().cachedHost == nil)
            #expect(try moved.status(now: live.clock.now()).hostNameFromDNS == "host1.tally.test")
        }

        @Test func recordsWithoutAnyAnsweringHostAreC004F074() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let stalled = LoopbackSockets.stalledTCP()
            defer { close(stalled.fd) }
            let closed = LoopbackSockets.stalledTCP()
            close(closed.fd)  // nothing listens there any more: refused
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(stalled.port) host1", "_tally._tcp IN SRV 10 0 \(closed.port) host2"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            let client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
            #expect(code { try client.activate(now: live.clock.now()) } == .noHostContacted)
            #expect(try client.status(now: live.clock.now()).lastResult == .noHostContacted)
            // A single record whose host does not answer is C004F074 too (C004F039 is for a pinned host).
            let single = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(closed.port) host2"])
            defer { single.stop() }
            let other = try ClientDiscoveryTests.client(live, temp, nameServers: [single.server.description], name: "pc-02")
            #expect(code { try other.activate(now: live.clock.now()) } == .noHostContacted)
        }

        @Test func eachDNSFailureHasItsCode() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let named = try NamedServer.start()
            defer { named.stop() }
            let temp = TemporaryDirectory()
            let nxdomain = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description], name: "a", domain: "missing.tally.test")
            #expect(code { try nxdomain.activate(now: live.clock.now()) } == .dnsNameNotFound)
            let noSRV = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description], name: "b", domain: "nosrv.tally.test")
            #expect(code { try noSRV.activate(now: live.clock.now()) } == .dnsNoSRVRecords)
            let noServer = try ClientDiscoveryTests.client(live, temp, nameServers: [], name: "c")
            #expect(code { try noServer.activate(now: live.clock.now()) } == .noDNSServer)
            // A name server that never answers (a bound UDP socket nobody reads): a server failure, after the timeout.
            let silent = LoopbackSockets.silentUDP()
            defer { close(silent.fd) }
            let dead = try ClientDiscoveryTests.client(live, temp, nameServers: ["127.0.0.1:\(silent.port)"], name: "d")
            #expect(code { try dead.activate(now: live.clock.now()) } == .dnsServerFailure)
            #expect(try dead.status(now: live.clock.now()).lastResult == .dnsServerFailure)
            #expect(try dead.events().isEmpty)
        }

        /// A hostile answer: 40 SRV targets whose names have no address records, before the one real host. The client
        /// considers only the first 16 targets in RFC 2782 order, tries them (by name, as DNS has no address for them)
        /// in that order, and stops with C004F074 without ever reaching the real host.
        @Test func aHostileAnswerIsCutAtTheTargetCapInRFC2782Order() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let cap = DiscoveryOptions.maximumTargets
            // Listed in reverse, so a cap taken before ordering would keep the wrong targets.
            let hostile = (1...40).reversed().map { "_tally._tcp IN SRV \($0) 0 \(live.port) dead\($0)" }
            let named = try NamedServer.start(records: hostile + ["_tally._tcp IN SRV 100 0 \(live.port) host1"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            let client = try ClientDiscoveryTests.client(live, temp, nameServers: [named.server.description])
            #expect(code { try client.activate(now: live.clock.now()) } == .noHostContacted)
            #expect(try client.status(now: live.clock.now()).lastResult == .noHostContacted)
            let sent = try client.events().filter { $0.id == .requestSent }.compactMap { $0.fields["host"] }
            #expect(sent.count <= cap)
            #expect(sent == (1...cap).map { "dead\($0).tally.test:\(live.port)" })
            #expect(!sent.contains("127.0.0.1:\(live.port)"))
        }

        /// Targets are looked up one at a time, as the queue reaches them: an address that appears in DNS after the
        /// first host was handed out is the one the second target gets (all looked up at once, it would have none).
        @Test func targetsAreLookedUpOneAtATimeAsTheyAreTried() throws {
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 1688 host1", "_tally._tcp IN SRV 10 0 1700 late"])
            defer { named.stop() }
            let locator = DNSHostLocator(options: DiscoveryOptions(resolvConfPath: "/dev/null", nameServers: [named.server.description], timeout: 1, attempts: 1))
            var queue = try locator.queue(settings: ClientSettings(domain: "tally.test"), service: "tally")
            #expect(queue.next() == HostAddress(host: "127.0.0.1", port: 1688))
            #expect(queue.mayHaveMore)
            let update = try named.nsupdate(["update add late.tally.test. 300 IN A 192.0.2.77"])
            #expect(update.status == 0, "\(update.output)")
            #expect(queue.next() == HostAddress(host: "192.0.2.77", port: 1700))
            #expect(queue.names[HostAddress(host: "192.0.2.77", port: 1700)] == "late.tally.test")
            #expect(queue.next() == nil)
            #expect(!queue.mayHaveMore && queue.limitNote.isEmpty)
        }

        /// The discovery deadline: once it has passed nothing more is asked or tried. Spent before the SRV answer, the
        /// lookup is a server failure (8007232A); spent on a target's address lookup, the client stops with C004F074
        /// without trying that target or the real host after it.
        @Test func discoveryStopsAtItsDeadlineWithTheCodeOfWhereItGotTo() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) far.example.", "_tally._tcp IN SRV 10 0 \(live.port) host1"])
            defer { named.stop() }
            let profile = try live.fixture.profile()
            func client(_ name: String, nameServers: [String], timeout: Double, deadline: Double) throws -> TallyClient {
                let client = TallyClient(stateDirectory: temp.path(name), identity: MachineIdentity(machineID: "machine-\(name)", name: name),
                                         profile: profile, connectTimeout: 1, readTimeout: 5,
                                         discovery: DiscoveryOptions(resolvConfPath: "/dev/null", nameServers: nameServers, timeout: timeout,
                                                                     attempts: 1, deadline: deadline))
                _ = try client.installKey(profile.skus.first { $0.id == "studio-pro" }!.setupKey, now: live.clock.now())
                try client.setDomain("tally.test")
                return client
            }
            // No time at all: not even the SRV records are asked for.
            let none = try client("a", nameServers: [named.server.description], timeout: 1, deadline: 0)
            #expect(code { try none.activate(now: live.clock.now()) } == .dnsServerFailure)
            #expect(try none.events().isEmpty)

            // named answers the SRV query at once, refuses far.example (not its zone), and the second name server never
            // answers: the address lookup of the first target waits for it until the deadline, and nothing follows.
            let silent = LoopbackSockets.silentUDP()
            defer { close(silent.fd) }
            let late = try client("b", nameServers: [named.server.description, "127.0.0.1:\(silent.port)"], timeout: 30, deadline: 2)
            #expect(code { try late.activate(now: live.clock.now()) } == .noHostContacted)
            #expect(try late.events().filter { $0.id == .requestSent }.isEmpty)
        }

        @Test func targetsComeInRFC2782OrderWithIPv6Addresses() throws {
            let named = try NamedServer.start(records: [
                "_tally._tcp IN SRV 10 0 1700 host1", "_tally._tcp IN SRV 0 0 1688 host6", "_tally._tcp IN SRV 20 0 1701 nowhere.example.",
            ])
            defer { named.stop() }
            let locator = DNSHostLocator(options: DiscoveryOptions(resolvConfPath: "/dev/null", nameServers: [named.server.description], timeout: 1, attempts: 1))
            let candidates = try locator.candidates(settings: ClientSettings(domain: "tally.test"), service: "tally")
            #expect(candidates.hosts == [HostAddress(host: "::1", port: 1688), HostAddress(host: "127.0.0.1", port: 1700),
                                         HostAddress(host: "nowhere.example", port: 1701)])
            #expect(candidates.names[HostAddress(host: "::1", port: 1688)] == "host6.tally.test")
            #expect(!candidates.pinned && !candidates.cached)
            // A pinned host overrides discovery; a cached one is tried before it.
            #expect(try locator.candidates(settings: ClientSettings(pinnedHost: HostAddress(host: "192.0.2.1")), service: "tally").pinned)
            let cached = try locator.candidates(settings: ClientSettings(domain: "tally.test", cachedHost: HostAddress(host: "192.0.2.9")), service: "tally")
            #expect(cached.cached && cached.hosts == [HostAddress(host: "192.0.2.9")])
        }
    }
}
