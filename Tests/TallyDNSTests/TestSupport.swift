import TallyDNS

/// SplitMix64: a small seeded generator, so random-looking tests are the same on every run.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func name(_ text: String) -> DNSName {
    try! DNSName(text)
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var iterator = text.filter { !$0.isWhitespace }.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        bytes.append(UInt8(String([high, low]), radix: 16)!)
    }
    return bytes
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// A message with one record of every type the library parses, sharing suffixes so compression has work.
func sampleMessage() -> DNSMessage {
    var header = DNSHeader(id: 0xBEEF)
    header.isResponse = true
    header.isAuthoritative = true
    header.recursionDesired = true
    let owner = name("_tally._tcp.example.com")
    let soa = SOAData(primary: name("ns1.example.com"), responsible: name("hostmaster.example.com"), serial: 2024_01_01,
                      refresh: 3600, retry: 600, expire: 86400, minimum: 300)
    return DNSMessage(
        header: header,
        questions: [DNSQuestion(name: owner, type: .srv)],
        answers: [
            .srv(owner, ttl: 300, SRVData(priority: 0, weight: 10, port: 1688, target: name("kms1.example.com"))),
            .srv(owner, ttl: 300, SRVData(priority: 10, weight: 0, port: 1689, target: name("KMS2.Example.com"))),
        ],
        authorities: [
            DNSResourceRecord(name: name("example.com"), type: .soa, ttl: 3600, data: .soa(soa)),
            DNSResourceRecord(name: name("example.com"), type: .ns, ttl: 3600, data: .ns(name("ns1.example.com"))),
        ],
        additionals: [
            DNSResourceRecord(name: name("kms1.example.com"), type: .a, ttl: 60, data: .a(DNSIPv4Address("192.0.2.7")!)),
            DNSResourceRecord(name: name("kms1.example.com"), type: .aaaa, ttl: 60, data: .aaaa(DNSIPv6Address("2001:db8::7")!)),
            DNSResourceRecord(name: name("www.example.com"), type: .cname, ttl: 60, data: .cname(name("kms1.example.com"))),
            DNSResourceRecord(name: name("example.com"), type: .txt, ttl: 60, data: .txt([Array("v=tally1".utf8), []])),
            DNSResourceRecord(name: name("example.com"), type: DNSRecordType(65_280), ttl: 60, data: .unknown([1, 2, 3])),
            EDNS(udpPayloadSize: 1232, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]).record,
            DNSResourceRecord(name: name("tally-key"), type: .tsig, class: .any, ttl: 0,
                              data: .tsig(TSIGData(algorithm: name("hmac-sha256"), timeSigned: 1_700_000_000, fudge: 300,
                                                   mac: Array(repeating: 0xAB, count: 32), originalID: 0xBEEF))),
        ])
}
