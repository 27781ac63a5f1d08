import Foundation
import Logging
import TallyCore
import TallyDNS
import TallyDNSTestSupport
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport
import Testing

extension DNSScenarios {
    /// The publishing scenarios against BIND 9: several hosts share one SRV owner name, each changing only
    /// its own record.
    @Suite struct HostPublishingTests {
        /// A host's publisher pointed at the test's named (as primary and as name server), never at the machine's
        /// resolv.conf.
        static func publisher(_ named: NamedServer, _ directory: TemporaryDirectory, target: String, port: Int,
                              priority: Int = 0, weight: Int = 0, domains: [String] = ["tally.test"], keyFile: String? = nil) -> DNSPublisher {
            var settings = HostSettings()
            settings.dnsPublishList = domains.map { DNSPublishEntry(domain: $0, priority: priority, weight: weight) }
            settings.dnsKeyFile = keyFile ?? named.keyFile
            settings.dnsPrimary = named.server.description
            settings.dnsNameServers = [named.server.description]
            settings.dnsTarget = target
            return DNSPublisher(directory: StateDirectory(directory.url.path), settings: settings, port: port,
                                resolvConf: ResolverConfiguration(), hostName: "unused", logger: LiveHost.quietLogger)
        }

        @Test func threeHostsShareTheOwnerNameAndEachChangesOnlyItsOwnRecord() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dirs = (0..<3).map { _ in TemporaryDirectory() }
            var publishers = (0..<3).map { HostPublishingTests.publisher(named, dirs[$0], target: "host\($0 + 1).tally.test", port: 1688) }

            // Three hosts publish: three records under one name.
            for publisher in publishers {
                let outcomes = publisher.publish()
                #expect(outcomes.count == 1 && outcomes.allSatisfy { $0.succeeded }, "\(outcomes)")
            }
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host1.tally.test.", "0 0 1688 host2.tally.test.", "0 0 1688 host3.tally.test."])

            // Host 2 moves to another port: its old record is replaced, not left behind.
            publishers[1].port = 1700
            #expect(publishers[1].publish().allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host1.tally.test.", "0 0 1688 host3.tally.test.", "0 0 1700 host2.tally.test."])
            #expect(try DNSPublication.load(from: StateDirectory(dirs[1].url.path)).records.map(\.port) == [1700])

            // Host 3 is decommissioned: only its record goes.
            #expect(publishers[2].unpublish().allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host1.tally.test.", "0 0 1700 host2.tally.test."])
            #expect(try DNSPublication.load(from: StateDirectory(dirs[2].url.path)).records.isEmpty)

            // Re-publishing unchanged (the 24-hour refresh) changes nothing.
            #expect(publishers[0].publish().allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").count == 2)

            // `show` reads back both records and marks host 1's as its own.
            let shown = publishers[0].show()
            #expect(shown.count == 1)
            #expect(shown[0].records.count == 2)
            #expect(shown[0].records.filter { $0.mine }.map(\.record) == ["0 0 1688 host1.tally.test."])
        }

        @Test func priorityWeightListChangesAndLowPriority() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dir = TemporaryDirectory()
            var publisher = HostPublishingTests.publisher(named, dir, target: "host1.tally.test", port: 1688, priority: 5, weight: 20,
                                                          domains: ["tally.test", "branch.tally.test"])
            #expect(publisher.publish().allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["5 20 1688 host1.tally.test."])
            #expect(try named.dig("_tally._tcp.branch.tally.test", "SRV") == ["5 20 1688 host1.tally.test."])

            // Low priority: clients try this host last. The branch domain leaves the list: the record there goes.
            publisher.settings.lowPriority = true
            publisher.settings.dnsPublishList = [DNSPublishEntry(domain: "tally.test", priority: 5, weight: 20)]
            let outcomes = publisher.publish()
            #expect(outcomes.map(\.action) == [.publish, .unpublish])
            #expect(outcomes.allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["65535 20 1688 host1.tally.test."])
            #expect(try named.dig("_tally._tcp.branch.tally.test", "SRV").isEmpty)
        }

        @Test func theTargetsAddressIsPublishedAndRemovedWhenAsked() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dir = TemporaryDirectory()
            var publisher = HostPublishingTests.publisher(named, dir, target: "kms7.tally.test", port: 1688)
            publisher.settings.dnsAddresses = ["127.0.0.7", "::7"]
            publisher.settings.dnsTTL = 120
            #expect(publisher.publish().allSatisfy { $0.succeeded })
            #expect(try named.dig("kms7.tally.test", "A") == ["127.0.0.7"])
            #expect(try named.dig("kms7.tally.test", "AAAA") == ["::7"])
            #expect(publisher.unpublish().allSatisfy { $0.succeeded })
            #expect(try named.dig("kms7.tally.test", "A").isEmpty)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
        }

        @Test func aWrongKeyIsRefusedAndLoggedAs12293WhileTheHostServes() async throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            var settings = try HostSettings.load(from: live.runtime.directory)
            settings.dnsPublishList = [DNSPublishEntry(domain: "tally.test")]
            settings.dnsKeyFile = named.wrongSecretKeyFile
            settings.dnsPrimary = named.server.description
            settings.dnsNameServers = [named.server.description]
            settings.dnsTarget = "host1.tally.test"
            try settings.save(to: live.runtime.directory)

            // One round of the serving host's re-publisher, as `serve` runs it.
            _ = await live.runtime.publishDNSOnce()

            let failures = try await live.runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: .dnsPublishFailed, limit: 10))
            #expect(failures.count == 1)
            #expect(failures.first?.event.fields["rcode"] == "BADSIG")
            #expect(failures.first?.event.fields["remedy"]?.contains("secret") == true)
            #expect(failures.first?.event.fields["domain"] == "tally.test.")
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
            // The host still answers activations.
            let answer = try live.activate(LiveHost.Machine())
            #expect(answer.claims.res == .countTooLow)

            // With the right key the next round publishes the port the host really listens on: 12294.
            settings.dnsKeyFile = named.keyFile
            try settings.save(to: live.runtime.directory)
            _ = await live.runtime.publishDNSOnce()
            let successes = try await live.runtime.store.events(EventQuery(since: nil, afterSeq: nil, id: .dnsPublishSucceeded, limit: 10))
            #expect(successes.count == 1)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(live.port) host1.tally.test."])
        }

        /// Issue 13 item 2: `tally host set dns-…` says a running host applies it on SIGHUP; the reload that SIGHUP
        /// runs re-publishes at once, so the record in the zone changes without waiting for the 24-hour round.
        @Test func aReloadThatChangedADNSSettingRepublishesAtOnce() async throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let fixture = try ActivatedHost()
            var settings = HostSettings()
            settings.dnsPublishList = [DNSPublishEntry(domain: "tally.test")]
            settings.dnsKeyFile = named.keyFile
            settings.dnsPrimary = named.server.description
            settings.dnsNameServers = [named.server.description]
            settings.dnsTarget = "host1.tally.test"
            try settings.save(to: fixture.host.directory)
            let runtime = try await HostRuntime.start(directory: fixture.host.directory, options: .init(
                listen: "127.0.0.1:0", adminListen: "none", clock: .manual(Date()), logger: LiveHost.quietLogger, threads: 2, publishDNS: true))
            var rounds = try #require(runtime.dnsRounds).makeAsyncIterator()
            let port = runtime.address.port
            // The round at start.
            let first = try #require(await rounds.next())
            #expect(first.count == 1 && first.allSatisfy(\.succeeded), "\(first)")
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 10 \(port) host1.tally.test."])

            // Another target and weight in settings.json, then the reload: the next round comes now.
            settings.dnsTarget = "host2.tally.test"
            settings.dnsPublishList = [DNSPublishEntry(domain: "tally.test", priority: 0, weight: 20)]
            try settings.save(to: fixture.host.directory)
            let outcome = try await runtime.reload()
            #expect(outcome.settings.applied.contains("dns-target") && outcome.settings.applied.contains("dns-publish-list"), "\(outcome.settings)")
            let second = try #require(await rounds.next())
            #expect(second.count == 1 && second.allSatisfy(\.succeeded), "\(second)")
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 20 \(port) host2.tally.test."])
            await runtime.shutdown()
        }

        /// Issue 13 item 6: 12293's `rcode` is only what the name server answered; a failure found here (a key file
        /// that does not parse) is in `failure`.
        @Test func rcodeHoldsOnlyWhatTheNameServerSaid() async throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dir = TemporaryDirectory()
            let store = try SQLiteHostStore(path: dir.path("host.sqlite"))
            let broken = dir.path("broken.key")
            try Data("key \"tally-host\" { algorithm hmac-sha256; };\n".utf8).write(to: URL(fileURLWithPath: broken))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: broken)
            let local = await HostPublishingTests.publisher(named, dir, target: "host1.tally.test", port: 1688, keyFile: broken).publish(recordingIn: store)
            #expect(local.count == 1 && !local[0].succeeded && local[0].rcode == nil && local[0].failure == "invalidUpdate", "\(local)")
            let refused = await HostPublishingTests.publisher(named, dir, target: "host1.tally.test", port: 1688, keyFile: named.wrongSecretKeyFile)
                .publish(recordingIn: store)
            #expect(refused.first?.rcode == "BADSIG" && refused.first?.failure == nil, "\(refused)")
            let events = try await store.events(EventQuery(since: nil, afterSeq: nil, id: .dnsPublishFailed, limit: 10)).sorted { $0.seq < $1.seq }
            #expect(events.map { $0.event.fields["rcode"] } == [nil, "BADSIG"])
            #expect(events.map { $0.event.fields["failure"] } == ["invalidUpdate", nil])
            try await store.close()
        }

        @Test func theRepublisherRunsEvery24HoursUntilStopped() async throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dir = TemporaryDirectory()
            let store = try SQLiteHostStore(path: dir.path("host.sqlite"))
            let publisher = HostPublishingTests.publisher(named, dir, target: "host1.tally.test", port: 1688)
            let waits = Waits()
            await DNSRepublisher(store: store) { publisher }.run(rounds: 3) { await waits.record($0) }
            #expect(await waits.all == [.seconds(86_400), .seconds(86_400)])
            #expect(try await store.events(EventQuery(since: nil, afterSeq: nil, id: .dnsPublishSucceeded, limit: 10)).count == 3)
            // Publishing off: a round does nothing.
            await DNSRepublisher(store: store) { nil }.run(rounds: 1) { await waits.record($0) }
            #expect(try await store.events(EventQuery(since: nil, afterSeq: nil, id: nil, limit: 10)).count == 3)
        }

        /// A key file others may read is refused before anything is sent: the outcome says why and how to fix it, and
        /// the zone is unchanged. Made private, the same file publishes.
        @Test func aKeyFileOthersCanReadIsRefusedWithAChmodRemedy() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let dir = TemporaryDirectory()
            let keyFile = dir.path("tally-host.key")
            try FileManager.default.copyItem(atPath: named.keyFile, toPath: keyFile)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
            let publisher = HostPublishingTests.publisher(named, dir, target: "host1.tally.test", port: 1688, keyFile: keyFile)
            let refused = publisher.publish()
            #expect(refused.count == 1 && !refused[0].succeeded, "\(refused)")
            #expect(refused[0].message.contains("may be read by other users (mode 644)"), "\(refused)")
            #expect(refused[0].remedy?.contains("chmod 600 \(keyFile)") == true, "\(refused)")
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)

            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
            #expect(publisher.publish().allSatisfy { $0.succeeded })
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host1.tally.test."])
        }

        @Test func missingKeyAndMissingDomainAreFailuresWithRemedies() throws {
            let dir = TemporaryDirectory()
            var settings = HostSettings()
            settings.dnsTarget = "host1.example.com"
            let noDomain = DNSPublisher(directory: StateDirectory(dir.url.path), settings: settings, port: 1688,
                                        resolvConf: ResolverConfiguration(), hostName: "h", logger: LiveHost.quietLogger)
            let outcome = noDomain.publish()
            #expect(outcome.count == 1 && !outcome[0].succeeded)
            #expect(outcome[0].remedy?.contains("dns-publish-list") == true)

            settings.dnsPublishList = [DNSPublishEntry(domain: "example.com")]
            let noKey = DNSPublisher(directory: StateDirectory(dir.url.path), settings: settings, port: 1688,
                                     resolvConf: ResolverConfiguration(), hostName: "h", logger: LiveHost.quietLogger)
            let keyless = noKey.publish()
            #expect(keyless.count == 1 && !keyless[0].succeeded)
            #expect(keyless[0].remedy?.contains("tsig-keygen") == true)
        }
    }

}

/// Records the waits the re-publisher asks for, instead of waiting.
actor Waits {
    private(set) var all: [Duration] = []
    func record(_ duration: Duration) { all.append(duration) }
}
