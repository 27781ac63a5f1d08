import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

@Suite("Live host: bad input gets a clear error, changes nothing, and the host keeps serving", .serialized)
struct BadInputLiveTests {
    static func validBody() -> [String: Any] {
        let (data, _) = LiveHost.body(LiveHost.Machine(), sku: "studio-pro", clientTime: Date())
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func mutated(_ change: (inout [String: Any]) -> Void) -> Data {
        var body = validBody()
        change(&body)
        return try! JSONSerialization.data(withJSONObject: body)
    }

    static let cases: [(String, Data, String)] = [
        ("not JSON", Data("{not json".utf8), "not valid JSON"),
        ("an array", Data("[1,2]".utf8), "the body"),
        ("cmid missing", mutated { $0["cmid"] = nil }, "cmid is missing"),
        ("cmid not a UUID", mutated { $0["cmid"] = "1234" }, "cmid must be a UUID"),
        ("clientTime a string", mutated { $0["clientTime"] = "yesterday" }, "clientTime must be a number"),
        ("sku a number", mutated { $0["sku"] = 7 }, "sku must be a string"),
        ("fingerprint short", mutated { $0["fingerprint"] = "abc" }, "fingerprint must be 64"),
        ("nonce too short", mutated { $0["nonce"] = "abc" }, "nonce must be"),
        ("unknown licence state", mutated { $0["licenseStatus"] = "Pirated" }, "licenseStatus must be one of"),
        ("machine name too long", mutated { $0["machine"] = String(repeating: "m", count: 300) }, "machine must be at most"),
        ("version 3", mutated { $0["ver"] = 3 }, "ver 3 is not supported"),
        ("hch not a hash", mutated { $0["hch"] = "abc" }, "hch must be 43 base64url"),
    ]

    @Test("each malformed body is a 400 with code 0xC0A70001, and a good client is served right after")
    func malformedBodies() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        for (name, body, message) in Self.cases {
            let response = try connection.post(ProtocolPaths.activate, body: body)
            #expect(response.status == 400, "\(name)")
            let json = try response.json()
            #expect(json["code"] as? String == "0xC0A70001", "\(name)")
            #expect((json["message"] as? String)?.contains(message) == true, "\(name): \(json)")
        }
        #expect((try await host.count("client")) == 0)
        #expect(try await host.runtime.store.totals().isEmpty)
        #expect(try host.activate(LiveHost.Machine()).claims.res == .countTooLow)
    }

    @Test("an oversized body is 413 and the connection is closed; others are unaffected")
    func oversizedBody() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        let response = try connection.post(ProtocolPaths.activate, body: Data(repeating: 0x20, count: 10_000))
        #expect(response.status == 413)
        #expect(connection.readsEOF())
        // Declared too large, body not even sent.
        let declared = try RawHTTPConnection(port: host.port)
        try declared.send("POST /v1/activate HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        #expect(try declared.readResponse().status == 413)
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 1)
    }

    @Test("oversized headers (one huge field, or too many) get 400 and a closed connection; others are served")
    func oversizedHeaders() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let huge = try RawHTTPConnection(port: host.port)
        try huge.send("POST /v1/activate HTTP/1.1\r\nHost: x\r\nX-Filler: \(String(repeating: "a", count: 20_000))\r\nContent-Length: 2\r\n\r\n{}")
        #expect(try huge.readResponse().status == 400)
        #expect(huge.readsEOF())
        let many = try RawHTTPConnection(port: host.port)
        let fields = (0..<100).map { "X-F\($0): v\r\n" }.joined()
        try many.send("POST /v1/activate HTTP/1.1\r\nHost: x\r\n\(fields)Content-Length: 2\r\n\r\n{}")
        #expect(try many.readResponse().status == 400)
        #expect(try host.activate(LiveHost.Machine()).claims.cur == 1)
    }

    @Test("wrong path, wrong method and garbage bytes get errors, not a crash")
    func wrongRequests() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        try connection.send("GET /v1/activate HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.readResponse().status == 405)
        try connection.send("GET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.readResponse().status == 404)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
        let garbage = try RawHTTPConnection(port: host.port)
        try garbage.send(Data((0..<2000).map { _ in UInt8.random(in: 0...255) }))
        _ = try? garbage.readResponse()
        #expect(try host.activate(LiveHost.Machine()).claims.res == .countTooLow)
    }

    @Test("keep-alive: many requests on one connection, each answered in order")
    func keepAlive() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let connection = try RawHTTPConnection(port: host.port)
        for expected in 1...30 {
            let machine = LiveHost.Machine()
            let (body, nonce) = LiveHost.body(machine, sku: "studio-pro", clientTime: host.clock.now())
            let response = try connection.post(ProtocolPaths.activate, body: body)
            #expect(response.status == 200)
            let parsed = try host.result(ofAnswer: response.body, nonce: nonce, machine: machine).claims
            #expect(parsed.nce == nonce)
            #expect(parsed.cur == expected)
        }
    }
}

@Suite("Export neutralises what clients sent")
struct ExportSanitizeTests {
    @Test("CSV cells carry no escape sequences and no formula prefix; line breaks stay quoted")
    func csv() {
        #expect(EventExport.csvCell("\u{1B}]0;pwned\u{07}\u{1B}[2J") == "?]0;pwned??[2J")
        #expect(EventExport.csvCell("=cmd()") == "\"'=cmd()\"")
        #expect(EventExport.csvCell("a\nb") == "\"a\nb\"")
        #expect(EventExport.csvCell("\u{9B}31m\u{7F}") == "?31m?")
        #expect(Sanitize.terminal("pc\u{1B}[31m-01") == "pc?[31m-01")
    }

    @Test("bidirectional controls become ? in CSV cells and terminal text; right-to-left letters stay")
    func bidi() {
        #expect(EventExport.csvCell("pc-\u{202E}gnp.exe") == "pc-?gnp.exe")
        #expect(EventExport.csvCell("\u{2066}=1+1\u{2069}") == "?=1+1?")
        for value in [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C] {
            let scalar = Unicode.Scalar(value)!
            #expect(Sanitize.terminal("a\(scalar)b") == "a?b", "U+\(String(value, radix: 16, uppercase: true))")
            #expect(Sanitize.isBidiControl(scalar))
        }
        #expect(Sanitize.terminal("שלום", keepingLineBreaks: true) == "שלום")
        #expect(!Sanitize.isBidiControl("\u{200D}"))
    }
}
