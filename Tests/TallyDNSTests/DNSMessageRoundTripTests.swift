import Testing
@testable import TallyDNS

@Suite struct DNSMessageRoundTripTests {
    @Test func everyRecordTypeSurvivesARoundTrip() throws {
        let message = sampleMessage()
        let bytes = try message.encoded()
        let decoded = try DNSMessage(decoding: bytes)
        #expect(decoded == message)
        #expect(decoded.header.id == 0xBEEF)
        #expect(decoded.header.isResponse && decoded.header.isAuthoritative && !decoded.header.isTruncated)
        #expect(decoded.edns?.udpPayloadSize == 1232)
        #expect(decoded.tsig?.data.mac.count == 32)
        // Case is kept as written, though names compare without it.
        guard case .srv(let second) = decoded.answers[1].data else {
            Issue.record("not SRV")
            return
        }
        #expect(second.target.description == "KMS2.Example.com.")
    }

    @Test func compressionShrinksTheMessageAndStillDecodes() throws {
        let message = sampleMessage()
        let compressed = try message.encoded(compress: true)
        let plain = try message.encoded(compress: false)
        #expect(compressed.count < plain.count)
        #expect(try DNSMessage(decoding: plain) == message)
        #expect(try DNSMessage(decoding: compressed) == message)
    }

    @Test func srvTargetsAreNeverCompressed() throws {
        // RFC 2782: the target is written in full even though its suffix appeared before.
        let owner = name("_tally._tcp.example.com")
        let message = DNSMessage(header: DNSHeader(id: 1), questions: [DNSQuestion(name: name("kms.example.com"), type: .srv)],
                                 answers: [.srv(owner, ttl: 60, SRVData(priority: 1, weight: 2, port: 3, target: name("kms.example.com")))])
        let bytes = try message.encoded()
        let target: [UInt8] = [3] + Array("kms".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0]
        #expect(bytes.suffix(target.count).elementsEqual(target))
        // The owner name, by contrast, ends in a pointer to the question's "example.com".
        #expect(bytes.contains(0xC0))
    }

    @Test func queryCarriesEDNSAndRecursionDesired() throws {
        let query = DNSMessage.query(id: 7, name: name("_tally._tcp.tally.test"), type: .srv)
        let decoded = try DNSMessage(decoding: try query.encoded())
        #expect(decoded.header.recursionDesired)
        #expect(decoded.header.opcode == .query)
        #expect(decoded.edns == EDNS(udpPayloadSize: 1232))
        #expect(decoded.questions == [DNSQuestion(name: name("_tally._tcp.tally.test"), type: .srv)])
    }

    @Test func extendedResponseCodeCombinesHeaderAndOPT() throws {
        var header = DNSHeader(id: 2)
        header.isResponse = true
        header.responseCodeLowBits = 0
        let message = DNSMessage(header: header, additionals: [EDNS(extendedResponseCode: 1).record])
        // BADVERS: 1 << 4 | 0 = 16.
        #expect(try DNSMessage(decoding: try message.encoded()).responseCode == DNSResponseCode(16))
    }

    @Test func headerFlagsReadAndWriteSingleBits() {
        var header = DNSHeader(id: 0)
        header.opcode = .update
        header.isTruncated = true
        header.responseCodeLowBits = 5
        #expect(header.flags == (5 << 11) | (1 << 9) | 5)
        header.isTruncated = false
        #expect(header.opcode == .update && !header.isTruncated && header.responseCodeLowBits == 5)
    }

    @Test func ipv6AddressesPrintAsRFC5952() {
        #expect(DNSIPv6Address("2001:0db8:0000:0000:0000:0000:0000:0001")!.description == "2001:db8::1")
        #expect(DNSIPv6Address("::1")!.description == "::1")
        #expect(DNSIPv6Address("2001:db8:0:1:0:0:0:1")!.description == "2001:db8:0:1::1")
        #expect(DNSIPv6Address("2001:db8:1:2:3:4:5:6")!.description == "2001:db8:1:2:3:4:5:6")
        #expect(DNSIPv6Address("2001:db8::1:0:0:1")!.description == "2001:db8::1:0:0:1")
        #expect(DNSIPv4Address("192.0.2.1")!.description == "192.0.2.1")
        #expect(DNSIPv4Address("192.0.2") == nil)
    }

    @Test func writingRefusesWhatDNSCannotCarry() {
        let long = DNSResourceRecord(name: name("example.com"), type: .txt, ttl: 1, data: .txt([Array(repeating: 65, count: 256)]))
        #expect(throws: DNSMessageError(.tooLarge, "")) { try DNSMessage(header: DNSHeader(), answers: [long]).encoded() }
        let huge = DNSResourceRecord(name: name("example.com"), type: DNSRecordType(999), ttl: 1, data: .unknown(Array(repeating: 0, count: 70_000)))
        #expect(throws: DNSMessageError(.tooLarge, "")) { try DNSMessage(header: DNSHeader(), answers: [huge]).encoded() }
    }
}
