import Foundation
import TallyCore
import TallyDNSTestSupport
import Testing
@testable import TallyDNS

#if canImport(Glibc)
import Glibc
#endif

/// The resolver and the updater against a real BIND 9 `named` on a loopback high port.
@Suite(.serialized) struct NamedIntegrationTests {
    static let owner = try! DNSName("_tally._tcp.tally.test")

    func withNamed(records: [String] = [], _ body: (NamedServer) throws -> Void) throws {
        let named = try NamedServer.start(records: records)
        defer { named.stop() }
        try body(named)
    }

    func updater(_ named: NamedServer, key: TSIGKey? = nil, clock: @escaping @Sendable () -> Date = { Date() }) -> DNSUpdater {
        // No primary configured: the zone and its primary (ns1.tally.test, ::1 and 127.0.0.1) come from the SOA.
        DNSUpdater(configuration: .init(resolver: named.resolverConfiguration(), key: key ?? named.key, updatePort: named.port), clock: clock)
    }

    func srv(_ port: UInt16, _ target: String, priority: UInt16 = 0, weight: UInt16 = 0) -> DNSResourceRecord {
        .srv(NamedIntegrationTests.owner, ttl: 300, SRVData(priority: priority, weight: weight, port: port, target: try! DNSName(target)))
    }

    @Test func answersSOAAndAddressesOverIPv4AndIPv6() throws {
        try withNamed { named in
            let v6 = DNSResolver(configuration: ResolverConfiguration(nameServers: [named.serverV6], timeout: 2))
            let soa = try v6.query(NamedServer.zone, type: .soa)
            guard case .soa(let data)? = soa.answers(.soa, for: NamedServer.zone).first?.data else {
                Issue.record("no SOA in \(soa)")
                return
            }
            #expect(data.primary == (try DNSName("ns1.tally.test")))
            #expect(soa.header.isAuthoritative)
            let v4 = DNSResolver(configuration: named.resolverConfiguration())
            #expect(try v4.query(try DNSName("host1.tally.test"), type: .a).answers.map(\.data) == [.a(DNSIPv4Address("127.0.0.1")!)])
            #expect(try v4.query(try DNSName("host6.tally.test"), type: .aaaa).answers.map(\.data) == [.aaaa(DNSIPv6Address("::1")!)])
        }
    }

    @Test func findsSRVRecordsWithTheirAddresses() throws {
        try withNamed(records: ["_tally._tcp IN SRV 0 10 1688 host1", "_tally._tcp IN SRV 10 0 1689 host6"]) { named in
            let lookup = SRVLookup(resolver: DNSResolver(configuration: named.resolverConfiguration()))
            let answer = try lookup.lookup(service: "tally", domain: NamedServer.zone)
            #expect(Set(answer.records) == [SRVData(priority: 0, weight: 10, port: 1688, target: try DNSName("host1.tally.test")),
                                            SRVData(priority: 10, weight: 0, port: 1689, target: try DNSName("host6.tally.test"))])
            #expect(lookup.addresses(of: try DNSName("host1.tally.test"), known: answer.addresses) == ["127.0.0.1"])
            #expect(lookup.addresses(of: try DNSName("host6.tally.test"), known: answer.addresses) == ["::1"])
            var random = SeededRandom(seed: 1)
            #expect(SRVSelection.order(answer.records, using: &random).map(\.port) == [1688, 1689])
        }
    }

    @Test func nxdomainAndNoSRVGetTheirOwnCodes() throws {
        try withNamed { named in
            let lookup = SRVLookup(resolver: DNSResolver(configuration: named.resolverConfiguration()))
            #expect(throws: TallyError(.dnsNameNotFound, "")) { try lookup.lookup(service: "tally", domain: try DNSName("missing.tally.test")) }
            #expect(throws: TallyError(.dnsNoSRVRecords, "")) { try lookup.lookup(service: "tally", domain: try DNSName("nosrv.tally.test")) }
            // A zone named does not serve: it refuses, which is a server failure for the client.
            #expect(throws: TallyError(.dnsServerFailure, "")) { try lookup.lookup(service: "tally", domain: try DNSName("elsewhere.example")) }
        }
    }

    @Test func aTruncatedAnswerIsFetchedAgainOverTCP() throws {
        let targets = (0..<60).map { "target-with-a-long-name-number-\($0).big" }
        let records = targets.map { "_tally._tcp.big IN SRV 0 1 1688 \($0)" }
        try withNamed(records: records) { named in
            let owner = try DNSName("_tally._tcp.big.tally.test")
            let resolver = DNSResolver(configuration: named.resolverConfiguration())
            // Over UDP alone the answer does not fit in 1232 bytes: named sets TC.
            let query = DNSMessage.query(id: 4242, name: owner, type: .srv)
            let datagram = try DNSTransport.udp(try query.encoded(), to: named.server, timeout: 2) { _ in true }
            let udpAnswer = try DNSMessage(decoding: datagram)
            #expect(udpAnswer.header.isTruncated)
            #expect(udpAnswer.answers.count < 60)
            // The resolver notices and asks again over TCP.
            let answer = try resolver.query(owner, type: .srv)
            #expect(!answer.header.isTruncated)
            #expect(answer.answers(.srv, for: owner).count == 60)
        }
    }

    @Test func signedUpdatesAddAndDeleteOneRecordEach() throws {
        try withNamed { named in
            let updater = updater(named)
            let receipt = try updater.apply([.add(srv(1688, "host1.tally.test")), .add(srv(1688, "host2.tally.test"))], owner: NamedIntegrationTests.owner)
            #expect(receipt.zone == NamedServer.zone)
            #expect(receipt.server.port == named.port)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host1.tally.test.", "0 0 1688 host2.tally.test."])
            // Replacing host1's record (new port) leaves host2's alone.
            try updater.apply([.delete(srv(1688, "host1.tally.test")), .add(srv(1700, "host1.tally.test"))], owner: NamedIntegrationTests.owner)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1688 host2.tally.test.", "0 0 1700 host1.tally.test."])
            try updater.apply([.delete(srv(1688, "host2.tally.test"))], owner: NamedIntegrationTests.owner)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV") == ["0 0 1700 host1.tally.test."])
            #expect(named.log.contains("adding an RR at '_tally._tcp.tally.test' SRV"))
        }
    }

    @Test func updatesInteroperateWithNsupdate() throws {
        try withNamed { named in
            // nsupdate (BIND's own TSIG code) adds; Tally reads it and deletes exactly that record.
            let added = try named.nsupdate(["zone tally.test", "update add _tally._tcp.tally.test 300 IN SRV 5 5 1688 host3.tally.test"])
            #expect(added.status == 0, "\(added.output)")
            let records = try updater(named).records(NamedIntegrationTests.owner, type: .srv)
            #expect(records.map(\.data) == [.srv(SRVData(priority: 5, weight: 5, port: 1688, target: try DNSName("host3.tally.test")))])
            try updater(named).apply([.delete(srv(1688, "host3.tally.test", priority: 5, weight: 5))], owner: NamedIntegrationTests.owner)
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
        }
    }

    @Test func aWrongSecretIsBADSIGAndAnUnknownKeyBADKEY() throws {
        try withNamed { named in
            let wrong = try TSIGKey.load(path: named.wrongSecretKeyFile)
            #expect(throws: DNSUpdateError(.signatureRejected, code: .badSignature, "", remedy: "")) {
                try updater(named, key: wrong).apply([.add(srv(1688, "host1.tally.test"))], owner: NamedIntegrationTests.owner)
            }
            let stranger = try TSIGKey.load(path: named.unknownKeyFile)
            do {
                try updater(named, key: stranger).apply([.add(srv(1688, "host1.tally.test"))], owner: NamedIntegrationTests.owner)
                Issue.record("an unknown key was accepted")
            } catch let error as DNSUpdateError {
                #expect(error.code == .badKey)
                #expect(error.remedy.contains("algorithm"))
            }
            #expect(try named.dig("_tally._tcp.tally.test", "SRV").isEmpty)
        }
    }

    @Test func aSkewedClockIsBADTIMEWithAClockRemedy() throws {
        try withNamed { named in
            let skewed = updater(named) { Date().addingTimeInterval(3_600) }
            do {
                try skewed.apply([.add(srv(1688, "host1.tally.test"))], owner: NamedIntegrationTests.owner)
                Issue.record("a request signed an hour ahead was accepted")
            } catch let error as DNSUpdateError {
                #expect(error.code == .badTime)
                #expect(error.remedy.contains("clock"))
            }
        }
    }

    @Test func aZoneWithoutAnUpdatePolicyRefuses() throws {
        try withNamed { named in
            let owner = try DNSName("_tally._tcp.locked.test")
            let record = DNSResourceRecord.srv(owner, ttl: 300, SRVData(priority: 0, weight: 0, port: 1688, target: try DNSName("host1.tally.test")))
            do {
                try updater(named).apply([.add(record)], owner: owner)
                Issue.record("the locked zone took an update")
            } catch let error as DNSUpdateError {
                #expect(error.reason == .rejected)
                #expect(error.code == .refused)
                #expect(error.remedy.contains("update-policy"))
            }
        }
    }

    @Test func aNameServerThatNeverAnswersIsAServerFailure() throws {
        let silent = LoopbackSockets.silentUDP()
        defer { close(silent.fd) }
        let configuration = ResolverConfiguration(nameServers: [try DNSServerAddress(host: "127.0.0.1", port: silent.port)], timeout: 0.3, attempts: 1)
        let lookup = SRVLookup(resolver: DNSResolver(configuration: configuration))
        #expect(throws: TallyError(.dnsServerFailure, "")) { try lookup.lookup(service: "tally", domain: try DNSName("tally.test")) }
    }

    /// A deadline bounds the whole query: the wait on a silent server ends at the deadline, not after the
    /// timeout, and no further round is started once it has passed.
    @Test func aDeadlineEndsTheQueryBeforeTheTimeoutsDo() throws {
        let silent = LoopbackSockets.silentUDP()
        defer { close(silent.fd) }
        let configuration = ResolverConfiguration(nameServers: [try DNSServerAddress(host: "127.0.0.1", port: silent.port)], timeout: 30, attempts: 3)
        let resolver = DNSResolver(configuration: configuration)
        let host = try DNSName("host1.tally.test")
        do throws(DNSError) {
            _ = try resolver.query(host, type: .a, deadline: .now + .milliseconds(300))
            Issue.record("a silent server answered")
        } catch {
            #expect(error.kind == .timeout)
            // The second of the three rounds found the deadline passed (after 30 s, the first would still wait).
            #expect(error.detail.contains("before the deadline"), "\(error.detail)")
        }
        // Already passed: nothing is sent.
        #expect(throws: DNSError(.timeout, "")) { try resolver.query(host, type: .a, deadline: .now) }
        // The SRV lookup reports it as a server failure, 8007232A.
        #expect(throws: TallyError(.dnsServerFailure, "")) {
            try SRVLookup(resolver: resolver).lookup(service: "tally", domain: NamedServer.zone, deadline: .now)
        }
    }

    @Test func aSilentServerIsSkippedForTheNextOne() throws {
        let silent = LoopbackSockets.silentUDP()
        defer { close(silent.fd) }
        try withNamed(records: ["_tally._tcp IN SRV 0 0 1688 host1"]) { named in
            let configuration = ResolverConfiguration(nameServers: [try DNSServerAddress(host: "127.0.0.1", port: silent.port), named.server],
                                                      timeout: 0.3, attempts: 1)
            let answer = try SRVLookup(resolver: DNSResolver(configuration: configuration)).lookup(service: "tally", domain: NamedServer.zone)
            #expect(answer.records.map(\.port) == [1688])
        }
    }
}
