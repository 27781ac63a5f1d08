import TallyCore
import Testing
@testable import TallyDNS

/// How answers map to Tally's result codes, without a network.
@Suite struct SRVLookupTests {
    let owner = name("_tally._tcp.tally.test")

    func answer(rcode: UInt8, records: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) -> DNSMessage {
        var header = DNSHeader(id: 1)
        header.isResponse = true
        header.responseCodeLowBits = rcode
        return DNSMessage(header: header, questions: [DNSQuestion(name: owner, type: .srv)], answers: records, additionals: additionals)
    }

    func code(_ body: () throws(TallyError) -> SRVAnswer) -> ResultCode? {
        do {
            _ = try body()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func nxdomainIsNameNotFound() {
        #expect(code { () throws(TallyError) in try SRVLookup.interpret(answer(rcode: 3), owner: owner) } == .dnsNameNotFound)
    }

    @Test func noErrorWithoutSRVIsNoRecords() {
        let txt = DNSResourceRecord(name: owner, type: .txt, ttl: 1, data: .txt([[65]]))
        #expect(code { () throws(TallyError) in try SRVLookup.interpret(answer(rcode: 0, records: [txt]), owner: owner) } == .dnsNoSRVRecords)
        let dot = DNSResourceRecord.srv(owner, ttl: 1, SRVData(priority: 0, weight: 0, port: 0, target: .root))
        #expect(code { () throws(TallyError) in try SRVLookup.interpret(answer(rcode: 0, records: [dot]), owner: owner) } == .dnsNoSRVRecords)
    }

    @Test func serverErrorsAndTransportFailuresAreServerFailure() {
        #expect(code { () throws(TallyError) in try SRVLookup.interpret(answer(rcode: 2), owner: owner) } == .dnsServerFailure)
        for kind in [DNSError.Kind.timeout, .network, .malformedAnswer, .serverFailure] {
            #expect(SRVLookup.tallyError(DNSError(kind, "x"), owner: owner).code == .dnsServerFailure)
        }
        #expect(SRVLookup.tallyError(DNSError(.noNameServers, "x"), owner: owner).code == .noDNSServer)
    }

    @Test func noNameServerConfiguredIsNoDNSServer() {
        let lookup = SRVLookup(resolver: DNSResolver(configuration: ResolverConfiguration()))
        #expect(code { () throws(TallyError) in try lookup.lookup(service: "tally", domain: name("tally.test")) } == .noDNSServer)
    }

    @Test func recordsAndAdditionalAddressesComeBack() throws {
        let records = [DNSResourceRecord.srv(owner, ttl: 60, SRVData(priority: 0, weight: 5, port: 1688, target: name("h1.tally.test")))]
        let additionals = [
            DNSResourceRecord(name: name("h1.tally.test"), type: .a, ttl: 60, data: .a(DNSIPv4Address("127.0.0.1")!)),
            DNSResourceRecord(name: name("h1.tally.test"), type: .aaaa, ttl: 60, data: .aaaa(DNSIPv6Address("::1")!)),
        ]
        let result = try SRVLookup.interpret(answer(rcode: 0, records: records, additionals: additionals), owner: owner)
        #expect(result.records.map(\.port) == [1688])
        let lookup = SRVLookup(resolver: DNSResolver(configuration: ResolverConfiguration()))
        // IPv6 first; taken from the additional section without asking anyone.
        #expect(lookup.addresses(of: name("h1.tally.test"), known: result.addresses) == ["::1", "127.0.0.1"])
    }

    @Test func ownerNameIsBuiltFromTheServiceLabel() throws {
        #expect(try SRVLookup.owner(service: "tally", domain: name("example.com")) == name("_tally._tcp.example.com"))
        #expect(try SRVLookup.owner(service: "_vendor", domain: name("example.com")) == name("_vendor._tcp.example.com"))
    }
}
