import Testing
import TallyClient
import TallyCore

@Suite("Host addresses as skms takes them")
struct HostAddressTests {
    @Test("names, IPv4 and IPv6 with and without ports", arguments: [
        ("kms.example.com", "kms.example.com", 1688),
        ("kms.example.com:1700", "kms.example.com", 1700),
        ("192.0.2.7:1688", "192.0.2.7", 1688),
        ("[::1]:1689", "::1", 1689),
        ("[2001:db8::7]", "2001:db8::7", 1688),
        ("2001:db8::7", "2001:db8::7", 1688),
        (" 127.0.0.1:80 ", "127.0.0.1", 80),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try HostAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(try HostAddress(parsing: address.description) == address)
    }

    @Test("malformed hosts are usage errors", arguments: ["", ":1688", "host:0", "host:65536", "host:http", "[::1", "[::1]x", "a b", "user@host", "http://host"])
    func rejects(text: String) {
        #expect(throws: TallyError(.usageError, "")) { try HostAddress(parsing: text) }
    }

    @Test("IPv6 prints with brackets")
    func description() {
        #expect(HostAddress(host: "::1", port: 1688).description == "[::1]:1688")
        #expect(HostAddress(host: "h", port: 1).description == "h:1")
    }
}
