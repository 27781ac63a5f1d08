import Foundation
import TallyClient
import TallyCore
import TallyDNS
import TallyDNSTestSupport
import TallyFiles
import TallyHost
import TallyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DNSScenarios {
    /// `tally doctor`'s checks through the library: each made to fail by creating its fault (a real BIND `named`
    /// for the DNS faults, live hosts for the host faults), and one run where everything passes.
    @Suite struct DoctorTests {
        /// A client asking only the given name servers (never this machine's resolv.conf), with a key installed.
        static func client(_ profile: ClientProfile, _ temp: TemporaryDirectory, name: String = "pc-01", nameServers: [String] = [],
                           resolvConf: String = "/dev/null", domain: String? = "tally.test", pinned: String? = nil,
                           sku: String? = "studio-pro", now: Date) throws -> TallyClient {
            let client = TallyClient(stateDirectory: temp.path(name), identity: MachineIdentity(machineID: "machine-\(name)", name: name),
                                     profile: profile, connectTimeout: 1, readTimeout: 5,
                                     discovery: DiscoveryOptions(resolvConfPath: resolvConf, nameServers: nameServers, timeout: 1, attempts: 1))
            if let sku { _ = try client.installKey(profile.skus.first { $0.id == sku }!.setupKey, now: now) }
            if let domain { try client.setDomain(domain) }
            if let pinned { try client.setHost(pinned) }
            return client
        }

        /// The files of a state directory, to show the doctor leaves them alone.
        static func files(_ path: String) throws -> [String: Data] {
            var result: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: path) where name != ".lock" {
                result[name] = try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent(name))
            }
            return result
        }

        // MARK: - 1. key

        @Test func noKeyInstalledFailsTheKeyCheck() throws {
            let fixture = try ActivatedHost()
            let profile = try fixture.profile()
            let temp = TemporaryDirectory()
            // No state directory at all.
            let nothing = try Self.client(profile, temp, domain: nil, sku: nil, now: Date())
            let report = nothing.doctor()
            #expect(report[.key]?.status == .fail)
            #expect(report[.key]?.code == .notInstalled)
            #expect(report[.key]?.remedy?.contains("tally client ipk") == true)
            #expect(!report.ok)
            #expect(!FileManager.default.fileExists(atPath: temp.path("pc-01")), "the doctor created the state directory")
            // A state whose only key was uninstalled.
            let removed = try Self.client(profile, temp, name: "pc-02", now: Date())
            try removed.uninstallKey()
            let after = removed.doctor()
            #expect(after[.key]?.code == .notInstalled)
            #expect(after[.hostCertificate]?.status == .warn)
            #expect(after[.hostCertificate]?.finding.hasPrefix("not checked") == true)
        }

        @Test func aHostKeyOnTheClientIsC004E016WithTheHint() throws {
            let fixture = try ActivatedHost()
            let profile = try fixture.profile()
            let temp = TemporaryDirectory()
            // `tally host install-key` run on the client's state directory.
            let hostHere = HostIdentity(directory: StateDirectory(temp.path("pc-01")))
            _ = try hostHere.installKey(fixture.hostKey.description, vendorRoots: profile.roots)
            let client = try Self.client(profile, temp, domain: nil, sku: nil, now: Date())
            let report = client.doctor()
            #expect(report[.key]?.status == .fail)
            #expect(report[.key]?.code == .keyDoesNotMatch)
            #expect(report[.key]?.hint?.contains("I installed a host key on a client") == true)

            // A licence whose key is a host key (a state edited by hand).
            let edited = try Self.client(profile, temp, name: "pc-02", now: Date())
            let state = StateDirectory(temp.path("pc-02"))
            var machine = try state.readJSON(ClientMachine.self, from: "machine.json")
            machine.licenses["studio-pro"]!.setupKey = fixture.hostKey.description
            try state.writeJSON(machine, to: "machine.json")
            let second = edited.doctor()
            #expect(second[.key]?.code == .keyDoesNotMatch)
            #expect(second[.key]?.hint != nil)
            #expect(!second.ok)
        }

        @Test func aStateCopiedFromAnotherMachineIsNotSentToTheHost() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let profile = try live.fixture.profile()
            _ = try Self.client(profile, temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            // The same state directory on another machine (a cloned image): its CMID is the first machine's.
            let clone = TallyClient(stateDirectory: temp.path("pc-01"), identity: MachineIdentity(machineID: "another-machine", name: "clone"),
                                    profile: profile, connectTimeout: 1, readTimeout: 5,
                                    discovery: DiscoveryOptions(resolvConfPath: "/dev/null", nameServers: []))
            let report = clone.doctor(now: live.clock.now())
            #expect(report[.key]?.status == .warn)
            #expect(report[.key]?.code == .ticketFromAnotherMachine)
            #expect(report[.hostCertificate]?.finding.contains("copied from another machine") == true)
            // Asked nothing: the host counted no one.
            #expect((try await live.count("client")) == 0)
        }

        // MARK: - 2. name servers

        @Test func noNameServerIs8007267C() throws {
            let fixture = try ActivatedHost()
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, nameServers: [], now: Date())
            let report = client.doctor()
            #expect(report[.key]?.status == .pass)
            #expect(report[.nameServers]?.status == .fail)
            #expect(report[.nameServers]?.code == .noDNSServer)
            #expect(report[.srvRecords]?.finding.hasPrefix("not checked") == true)
            #expect(!report.ok)
        }

        // MARK: - 3. SRV records

        @Test func nxdomainIs8007232B() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let fixture = try ActivatedHost()
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, nameServers: [named.server.description], domain: "missing.tally.test", now: Date())
            let report = client.doctor()
            #expect(report[.nameServers]?.status == .pass)
            #expect(report[.srvRecords]?.status == .fail)
            #expect(report[.srvRecords]?.code == .dnsNameNotFound)
            #expect(report[.srvRecords]?.finding.contains("_tally._tcp.missing.tally.test") == true)
        }

        @Test func aNameWithoutSRVRecordsIs8007251D() throws {
            let named = try NamedServer.start()
            defer { named.stop() }
            let fixture = try ActivatedHost()
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, nameServers: [named.server.description], domain: "nosrv.tally.test", now: Date())
            let report = client.doctor()
            #expect(report[.srvRecords]?.status == .fail)
            #expect(report[.srvRecords]?.code == .dnsNoSRVRecords)
        }

        @Test func aSilentNameServerIs8007232A() throws {
            // A bound UDP socket nobody reads: the query vanishes, as with a name server that hangs.
            let silent = LoopbackSockets.silentUDP()
            defer { close(silent.fd) }
            let fixture = try ActivatedHost()
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, nameServers: ["127.0.0.1:\(silent.port)"], now: Date())
            let report = client.doctor()
            #expect(report[.nameServers]?.status == .pass)
            #expect(report[.srvRecords]?.status == .fail)
            #expect(report[.srvRecords]?.code == .dnsServerFailure)
            #expect(report[.targets]?.finding.hasPrefix("not checked") == true)
        }

        // MARK: - 4. targets

        @Test func aDeadTargetIsC004F074WhenNoneAnswersAndAWarningWhenAnotherDoes() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            // A listener whose connections complete in the kernel and are never answered.
            let stalled = LoopbackSockets.stalledTCP()
            defer { close(stalled.fd) }
            let temp = TemporaryDirectory()
            let profile = try live.fixture.profile()
            do {
                let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(stalled.port) host2"])
                defer { named.stop() }
                let client = try Self.client(profile, temp, nameServers: [named.server.description], now: live.clock.now())
                let report = client.doctor(now: live.clock.now())
                #expect(report[.srvRecords]?.status == .pass)
                #expect(report[.targets]?.status == .fail)
                #expect(report[.targets]?.code == .noHostContacted)
                #expect(report[.targets]?.finding.contains("host2.tally.test (127.0.0.1:\(stalled.port)) accepted the connection but did not answer") == true)
                #expect(report[.hostCertificate]?.finding.hasPrefix("not checked") == true)
            }
            // The same dead target before a live one: a warning, and the live host is the one asked.
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(stalled.port) host2", "_tally._tcp IN SRV 10 0 \(live.port) host1"])
            defer { named.stop() }
            let client = try Self.client(profile, temp, name: "pc-02", nameServers: [named.server.description], now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.targets]?.status == .warn)
            #expect(report[.targets]?.code == .hostUnreachable)
            #expect(report[.targets]?.finding.contains("host1.tally.test (127.0.0.1:\(live.port)) answers") == true)
            // The stalled target is named as a read stall, not as a connect timeout.
            #expect(report[.targets]?.finding.contains("A target that accepted the connection and never answered (a read stall) holds each client for the stall limit (1 s") == true,
                    "\(report[.targets]?.finding ?? "")")
            #expect(report[.targets]?.finding.contains("on each target it cannot connect to") == false)
            #expect(report[.hostCertificate]?.status == .pass)
            #expect(report[.hostCertificate]?.finding.contains("127.0.0.1:\(live.port)") == true)

            // A target that refuses the connection before the live one costs the connect timeout, and no stall is named.
            let refused = LoopbackSockets.stalledTCP()
            close(refused.fd)
            let refusing = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(refused.port) host3", "_tally._tcp IN SRV 10 0 \(live.port) host1"])
            defer { refusing.stop() }
            let third = try Self.client(profile, temp, name: "pc-03", nameServers: [refusing.server.description], now: live.clock.now())
            let refusedReport = third.doctor(now: live.clock.now())
            #expect(refusedReport[.targets]?.status == .warn)
            #expect(refusedReport[.targets]?.finding.contains("A client waits up to the connect timeout (1 s) on each target it cannot connect to") == true,
                    "\(refusedReport[.targets]?.finding ?? "")")
            #expect(refusedReport[.targets]?.finding.contains("read stall") == false)
        }

        @Test func aPinnedHostThatDoesNotAnswerIsC004F039() throws {
            let closed = LoopbackSockets.stalledTCP()
            close(closed.fd)  // nothing listens there any more: refused
            let fixture = try ActivatedHost()
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, pinned: "127.0.0.1:\(closed.port)", now: Date())
            let report = client.doctor()
            #expect(report[.nameServers]?.finding == "pinned host 127.0.0.1:\(closed.port), DNS not used")
            #expect(report[.targets]?.status == .fail)
            #expect(report[.targets]?.code == .hostDidNotRespond)
            #expect(report[.hostCertificate]?.finding == "not checked: the pinned host does not answer (see targets)")
        }

        // MARK: - 5. host certificate

        @Test func aHostWithoutCertificateIsC004F041() async throws {
            let fixture = try ActivatedHost()
            try FileManager.default.removeItem(at: fixture.host.directory.file("certificate.jwt"))
            let live = try await LiveHost(fixture: fixture)
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let client = try Self.client(try fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.targets]?.status == .pass)
            #expect(report[.hostCertificate]?.status == .fail)
            #expect(report[.hostCertificate]?.code == .hostNotActivated)
            #expect(report[.count]?.finding.hasPrefix("not checked") == true)
            #expect(!report.ok)
        }

        @Test func aHostOfAForeignVendorIsTokenRejected() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            // Another vendor's profile: the host's certificate is signed by a root this client does not trust.
            let foreign = try ActivatedHost(now: live.clock.now())
            let temp = TemporaryDirectory()
            let client = try Self.client(try foreign.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.hostCertificate]?.status == .fail)
            #expect(report[.hostCertificate]?.code == .tokenRejected)
            #expect(report[.hostCertificate]?.remedy?.contains("not certified by this vendor") == true)
            // Nothing in an answer that does not verify is used.
            #expect(report[.count]?.finding.hasPrefix("not checked") == true)
            #expect(report[.clockSkew]?.finding.hasPrefix("not checked") == true)
        }

        @Test func aCertificateOutOfDateAtThisClockFailsAndOneNearItsEndWarns() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let client = try Self.client(try live.fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let expires = live.fixture.certificate.expires
            // Both clocks ten days before the certificate ends.
            live.clock.advance(by: expires.timeIntervalSince(live.clock.now()) - 10 * 86_400)
            let soon = client.doctor(now: live.clock.now())
            #expect(soon[.hostCertificate]?.status == .warn)
            #expect(soon[.hostCertificate]?.code == .hostNotActivated)
            #expect(soon[.hostCertificate]?.finding.contains("expires in 10 d") == true)
            #expect(soon[.clockSkew]?.status == .pass)
            // This machine's clock past the end: the client would reject every answer of this host.
            let late = client.doctor(now: expires.addingTimeInterval(86_400))
            #expect(late[.hostCertificate]?.status == .fail)
            #expect(late[.hostCertificate]?.code == .tokenRejected)
            #expect(late[.hostCertificate]?.finding.contains("valid at the host's time") == true)
            #expect(late[.clockSkew]?.code == .clockSkew)
        }

        @Test func aSKUOutsideTheHostsCertificateIsC004F042() async throws {
            // A host for group studio-2025 activates studio-standard only.
            let live = try await LiveHost(fixture: try ActivatedHost(group: "studio-2025"))
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let client = try Self.client(try live.fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.hostCertificate]?.status == .fail)
            #expect(report[.hostCertificate]?.code == .skuNotCovered)
            #expect(report[.hostCertificate]?.finding.contains("covers studio-standard (client); not studio-pro") == true)
            #expect(report[.count]?.finding.hasPrefix("not checked") == true)
        }

        // MARK: - 6. count, 7. clock, 8. last result

        @Test func aCountBelowTheThresholdIsAWarningWithTheCounts() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let client = try Self.client(try live.fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.hostCertificate]?.status == .pass)
            #expect(report[.count]?.status == .warn)
            #expect(report[.count]?.code == .countTooLow)
            #expect(report[.count]?.finding.contains("counts 1 machine for studio-pro (class client), this one included; 25 are needed") == true)
            #expect(report[.clockSkew]?.status == .pass)
            #expect(report.ok, "a warning is not a failure")
        }

        @Test func aClockMoreThanFourHoursOffIsC004F06C() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let now = live.clock.now()
            let client = try Self.client(try live.fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: now)
            // The host's clock runs 5 h ahead of this machine's.
            live.clock.advance(by: 5 * 3600)
            let report = client.doctor(now: now)
            #expect(report[.clockSkew]?.status == .fail)
            #expect(report[.clockSkew]?.code == .clockSkew)
            #expect(report[.clockSkew]?.finding.contains("is 5 h behind the clock of 127.0.0.1:\(live.port)") == true)
            #expect(report[.count]?.finding.contains("this machine was not counted") == true)
            #expect(!report.ok)
            // Ten minutes apart: accepted, but worth a warning.
            live.clock.advance(by: -5 * 3600 + 600)
            let close = client.doctor(now: now)
            #expect(close[.clockSkew]?.status == .warn)
            #expect(close[.clockSkew]?.code == .clockSkew)
            #expect(close[.clockSkew]?.finding.contains("10 min behind") == true)
        }

        @Test func aLast12289WithC004F038IsAWarning() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let temp = TemporaryDirectory()
            let client = try Self.client(try live.fixture.profile(), temp, pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            #expect(client.doctor(now: live.clock.now())[.lastResult]?.status == .pass)
            // A real activation below the threshold leaves a 12289 event with C004F038.
            #expect(try client.activate(now: live.clock.now()).result == .countTooLow)
            let report = client.doctor(now: live.clock.now())
            #expect(report[.lastResult]?.status == .warn)
            #expect(report[.lastResult]?.code == .countTooLow)
            #expect(report[.lastResult]?.finding.contains("Host count 1 of 25 required") == true)
            #expect(report[.lastResult]?.remedy == ResultCode.countTooLow.info?.remedy)
        }

        // MARK: - 9. pinned host

        @Test func aPinnedHostWithSRVRecordsPresentIsAWarning() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) host1"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            let client = try Self.client(try live.fixture.profile(), temp, nameServers: [named.server.description],
                                         pinned: "127.0.0.1:\(live.port)", now: live.clock.now())
            let report = client.doctor(now: live.clock.now())
            #expect(report[.nameServers]?.status == .pass)
            #expect(report[.nameServers]?.finding.contains("DNS not used") == true)
            #expect(report[.srvRecords]?.finding.contains("DNS not used") == true)
            #expect(report[.pinnedHost]?.status == .warn)
            #expect(report[.pinnedHost]?.finding.contains("_tally._tcp.tally.test") == true)
            #expect(report[.pinnedHost]?.finding.contains("do not move to another host") == true)
            #expect(report[.pinnedHost]?.remedy?.contains("tally client ckms") == true)
            // Back to discovery: nothing is overridden.
            try client.clearHost()
            #expect(client.doctor(now: live.clock.now())[.pinnedHost]?.status == .pass)
        }

        // MARK: - Everything passes

        @Test func everythingPassesWithDNSAndAHostAboveTheThreshold() async throws {
            let live = try await LiveHost()
            defer { Task { await live.stop() } }
            // Four other server machines have asked: with this one the count reaches the server threshold, 5.
            for _ in 0..<4 { _ = try live.activate(LiveHost.Machine(), sku: "studio-server") }
            let named = try NamedServer.start(records: ["_tally._tcp IN SRV 0 0 \(live.port) host1"])
            defer { named.stop() }
            let temp = TemporaryDirectory()
            // The search list: a domain without the record first, as discovery tries them in order.
            let resolvConf = temp.path("resolv.conf")
            try "search missing.tally.test tally.test\nnameserver 192.0.2.53\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)
            let client = try Self.client(try live.fixture.profile(), temp, nameServers: [named.server.description], resolvConf: resolvConf,
                                         domain: nil, sku: "studio-server", now: live.clock.now())
            let before = try Self.files(temp.path("pc-01"))
            let report = client.doctor(now: live.clock.now())
            for check in report.checks {
                #expect(check.status == .pass, "\(check.name.rawValue): \(check.finding)")
                #expect(check.code == nil && check.remedy == nil)
            }
            #expect(report.checks.map(\.name) == DoctorCheckName.allCases)
            #expect(report.ok)
            #expect(report[.srvRecords]?.finding.contains("_tally._tcp.missing.tally.test. does not exist (NXDOMAIN)") == true)
            #expect(report[.srvRecords]?.finding.contains("the client uses these") == true)
            #expect(report[.count]?.finding.contains("counts 5 machines for studio-server (class server), this one included; the threshold is 5") == true)

            // The doctor wrote nothing: no ticket, no event, no cached host.
            #expect(try Self.files(temp.path("pc-01")) == before)
            #expect(try client.status(now: live.clock.now()).licenseStatus == .initialGrace)
            // Asked again, the host still counts this machine once.
            #expect(client.doctor(now: live.clock.now())[.count]?.finding.contains("counts 5 machines") == true)
            #expect((try await live.count("server")) == 5)
        }
    }
}
