import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyTestSupport

/// The admin port's smaller rules from issue 10: a login whose origin the browser hides, two Host headers, and
/// tokens that are long but guessable. Each goes the way an attacker would: raw bytes on a socket, a token file.
@Suite("Admin interface: Origin null, repeated Host headers, weak tokens", .serialized)
struct AdminRequestRulesTests {
    static let otherAddress = "127.0.0.2"

    @Test("a login posted with Origin: null is refused with 403 and no cookie; from the page's own origin it logs in")
    func originNull() async throws {
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let host = try await LiveHost(fixture: fixture, adminListen: "\(Self.otherAddress):0")
        defer { Task { await host.stop() } }
        let port = host.adminPort
        let form = ["Content-Type": "application/x-www-form-urlencoded"]
        let body = Data("token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)".utf8)
        // A sandboxed frame or a data: URL posts with `Origin: null`: the browser hides where the form came from.
        let hidden = try AdminHTTP.request("POST", "/login", host: Self.otherAddress, port: port,
                                           headers: form.merging(["Origin": "null"]) { $1 }, body: body)
        #expect(hidden.status == 403)
        #expect(hidden.header("set-cookie") == nil)
        #expect(try hidden.json()["code"] as? String == "0x80070005")
        let own = try AdminHTTP.request("POST", "/login", host: Self.otherAddress, port: port,
                                        headers: form.merging(["Origin": "http://\(Self.otherAddress):\(port)"]) { $1 }, body: body)
        #expect(own.status == 303)
        #expect(own.header("set-cookie")?.hasPrefix("tally_session=") == true)
    }

    @Test("two Host headers are answered 400 on every path, with and without a token; one Host is served")
    func repeatedHost() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine(name: "secret-machine"))
        let port = host.adminPort
        func get(_ path: String, hosts: [String]) throws -> RawHTTPConnection.Response {
            let connection = try RawHTTPConnection(port: port)
            try connection.send("GET \(path) HTTP/1.1\r\n" + hosts.map { "Host: \($0)\r\n" }.joined() + "Connection: close\r\n\r\n")
            return try connection.readResponse()
        }
        for path in ["/api/clients", "/", "/metrics", "/health", "/login"] {
            // Without the rule the last one wins: a proxy that checked the first would be fooled.
            let twice = try get(path, hosts: ["evil.example", "127.0.0.1:\(port)"])
            #expect(twice.status == 400, "\(path)")
            #expect(!String(decoding: twice.body, as: UTF8.self).contains("secret-machine"))
            #expect(try get(path, hosts: ["127.0.0.1:\(port)", "127.0.0.1:\(port)"]).status == 400, "\(path)")
        }
        #expect(try get("/api/clients", hosts: ["127.0.0.1:\(port)"]).status == 200)

        // The same with a token: the bearer does not make two names one.
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let guarded = try await LiveHost(fixture: fixture, adminListen: "\(Self.otherAddress):0")
        defer { Task { await guarded.stop() } }
        let response = try AdminHTTP.request("GET", "/api/status", host: Self.otherAddress, port: guarded.adminPort,
                                             headers: ["Authorization": "Bearer \(token)"],
                                             hostHeaders: ["\(Self.otherAddress):\(guarded.adminPort)", "admin.corp.example"])
        #expect(response.status == 400)
        let single = try AdminHTTP.request("/api/status", host: Self.otherAddress, port: guarded.adminPort, headers: ["Authorization": "Bearer \(token)"])
        #expect(single.status == 200)
    }

    @Test("admin tokens under 32 characters or with fewer than 16 different characters are refused at start, with a remedy")
    func weakTokens() async throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("h"))
        let address = try BindAddress("\(Self.otherAddress):0")
        func load(_ token: String) -> TallyError? {
            let path = temp.path("token-\(UUID().uuidString)")
            #expect(FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]))
            do {
                _ = try AdminAccess.load(address: address, tokenFile: path, directory: directory, clock: HostClock())
                return nil
            } catch let error as TallyError {
                return error
            } catch {
                return TallyError(.usageError, "not a TallyError: \(error)")
            }
        }
        let oneLetter = load(String(repeating: "a", count: 64))
        #expect(oneLetter?.message.contains("only 1 different characters") == true)
        #expect(oneLetter?.remedy.contains("head -c 32 /dev/urandom | base64") == true)
        #expect(load("abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd")?.message.contains("only 4 different") == true)
        // 16 characters were enough before; now 31 are too few.
        let short = load("0123456789abcdefghijklmnopqrstu")
        #expect(short?.message.contains("31 characters; at least 32") == true)
        #expect(load("0123456789abcdefghijklmnopqrstuv") == nil)
        #expect(load("0123456789abcde-0123456789abcde-") == nil)
        #expect(load("0123456789abcd-0123456789abcd-01")?.message.contains("only 15 different") == true)
        // What the README's command writes is accepted.
        let random = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        #expect(load(random) == nil)

        // A host set up with such a token does not start: the admin port never listens with it.
        let fixture = try ActivatedHost()
        _ = try configureToken(fixture, token: String(repeating: "x", count: 40))
        await #expect(throws: TallyError.self) {
            _ = try await LiveHost(fixture: fixture, adminListen: "\(Self.otherAddress):0")
        }
    }
}
