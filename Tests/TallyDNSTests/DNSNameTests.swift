import Testing
@testable import TallyDNS

@Suite struct DNSNameTests {
    @Test func parsesAndPrintsPresentationForm() throws {
        let parsed = try DNSName("_tally._tcp.Example.COM")
        #expect(parsed.labels.map { String(decoding: $0, as: UTF8.self) } == ["_tally", "_tcp", "Example", "COM"])
        #expect(parsed.description == "_tally._tcp.Example.COM.")
        #expect(try DNSName("example.com.") == DNSName("EXAMPLE.com"))
        #expect(try DNSName(".") == .root)
        #expect(DNSName.root.description == ".")
    }

    @Test func escapesRoundTrip() throws {
        let parsed = try DNSName(#"a\.b.c\\d.\032x"#)
        #expect(parsed.labels == [Array("a.b".utf8), Array(#"c\d"#.utf8), [32, UInt8(ascii: "x")]])
        #expect(try DNSName(parsed.description) == parsed)
        #expect(parsed.description == #"a\.b.c\\d.\032x."#)
    }

    @Test(arguments: ["", "a..b", ".a", "a\\", "a\\25", "a\\999", "a..", String(repeating: "x", count: 64) + ".com"])
    func rejectsBadText(_ text: String) {
        #expect(throws: DNSMessageError.self) { try DNSName(text) }
    }

    @Test func enforcesTheWireLimit() throws {
        let label = String(repeating: "a", count: 63)
        // 4 labels of 63: 4 × 64 + 1 = 257 bytes.
        #expect(throws: DNSMessageError(.nameTooLong, "")) { try DNSName([label, label, label, label].joined(separator: ".")) }
        let fits = try DNSName([label, label, label, String(repeating: "b", count: 61)].joined(separator: "."))
        #expect(fits.wireLength == 255)
    }

    @Test func comparesWithoutCaseAndKnowsItsAncestors() throws {
        let host = try DNSName("Kms1.Tally.Test")
        #expect(host.isSubdomain(of: try DNSName("tally.TEST")))
        #expect(host.isSubdomain(of: .root))
        #expect(!host.isSubdomain(of: try DNSName("other.test")))
        #expect(Set([host, try DNSName("kms1.tally.test")]).count == 1)
        #expect(host.parent == (try DNSName("tally.test")))
    }
}
