import Foundation
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Writes a token file with mode 0600 and points the host's settings at it.
func configureToken(_ fixture: ActivatedHost, token: String = "test-token-" + UUID().uuidString, adminListen: String? = nil) throws -> String {
    let path = fixture.temp.path("admin-token")
    #expect(FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]))
    var settings = try HostSettings.load(from: fixture.host.directory)
    settings.adminTokenFile = path
    if let adminListen { settings.adminListen = adminListen }
    try settings.save(to: fixture.host.directory)
    return token
}

@Suite("Admin interface: access rules over real TCP", .serialized)
struct AdminAccessLiveTests {
    /// 127.0.0.2 answers on Linux (all of 127/8 is on lo) but is not "loopback" for the token rule.
    static let otherAddress = "127.0.0.2"

    @Test("without a token file the admin port refuses 127.0.0.2 and 0.0.0.0: the host does not start, event 12291 says why")
    func refusedWithoutToken() async throws {
        for address in ["\(Self.otherAddress):0", "0.0.0.0:0", "[::]:0"] {
            let fixture = try ActivatedHost()
            let directory = fixture.host.directory
            await #expect(throws: TallyError.self) {
                _ = try await HostRuntime.start(directory: directory, listen: "127.0.0.1:0", adminListen: address, logger: LiveHost.quietLogger, threads: 1)
            }
            do {
                _ = try await HostRuntime.start(directory: directory, listen: "127.0.0.1:0", adminListen: address, logger: LiveHost.quietLogger, threads: 1)
            } catch let error as TallyError {
                #expect(error.code == .accessDenied)
                #expect(error.message.contains("token file"))
                #expect(error.remedy.contains("admin-token-file"))
            }
            let store = try SQLiteHostStore(path: directory.file(HostRuntime.storeFile).path)
            let failures = try await store.events(EventQuery(since: nil, afterSeq: nil, id: .hostStartFailed, limit: 10))
            #expect(failures.count == 2)
            #expect(failures.first?.event.fields["message"]?.contains("token file") == true)
            #expect(AdminEndpoint.read(from: directory) == nil)
        }
    }

    @Test("the loopback rule: 127.0.0.1, ::1 and localhost only")
    func loopbackRule() {
        for host in ["127.0.0.1", "::1", "[::1]", "localhost", "LOCALHOST"] { #expect(AdminAccess.isLocalOnly(host), "\(host)") }
        for host in ["127.0.0.2", "127.1.2.3", "0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "::ffff:127.0.0.1", "example.org"] {
            #expect(!AdminAccess.isLocalOnly(host), "\(host)")
        }
    }

    @Test("a token file others may read, a missing one and a short one are refused")
    func badTokenFiles() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("h"))
        let address = try BindAddress("127.0.0.2:0")
        let loose = temp.path("loose")
        #expect(FileManager.default.createFile(atPath: loose, contents: Data("a-long-enough-token-0123456789xyz".utf8), attributes: [.posixPermissions: 0o644]))
        #expect(throws: TallyError.self) { try AdminAccess.load(address: address, tokenFile: loose, directory: directory, clock: HostClock()) }
        let short = temp.path("short")
        #expect(FileManager.default.createFile(atPath: short, contents: Data("short".utf8), attributes: [.posixPermissions: 0o600]))
        #expect(throws: TallyError.self) { try AdminAccess.load(address: address, tokenFile: short, directory: directory, clock: HostClock()) }
        #expect(throws: TallyError.self) { try AdminAccess.load(address: address, tokenFile: temp.path("missing"), directory: directory, clock: HostClock()) }
        let good = temp.path("good")
        #expect(FileManager.default.createFile(atPath: good, contents: Data("a-long-enough-token-0123456789xyz\n".utf8), attributes: [.posixPermissions: 0o600]))
        let access = try AdminAccess.load(address: address, tokenFile: good, directory: directory, clock: HostClock())
        #expect(access.requiresToken)
        #expect(access.tokenMatches("a-long-enough-token-0123456789xyz"))
        #expect(!access.tokenMatches("a-long-enough-token-0123456789xyZ"))
        #expect(!access.tokenMatches("a-long-enough-token-0123456789xyz "))
        #expect(!access.tokenMatches(""))
    }

    @Test("with a token on 127.0.0.2: the API answers 401 without it or with a wrong one, 200 with the bearer token")
    func bearerToken() async throws {
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let host = try await LiveHost(fixture: fixture, adminListen: "\(Self.otherAddress):0")
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine(name: "pc-1"))
        #expect(host.runtime.admin?.address.host == Self.otherAddress)
        let port = host.adminPort
        for path in ["/api/status", "/api/clients", "/api/events", "/metrics"] {
            let none = try AdminHTTP.request(path, host: Self.otherAddress, port: port)
            #expect(none.status == 401, "\(path)")
            #expect(none.header("www-authenticate")?.hasPrefix("Bearer") == true)
            #expect(!none.text.contains("pc-1"))
            let wrong = try AdminHTTP.request(path, host: Self.otherAddress, port: port, headers: ["Authorization": "Bearer \(token)x"])
            #expect(wrong.status == 401, "\(path)")
            let basic = try AdminHTTP.request(path, host: Self.otherAddress, port: port, headers: ["Authorization": "Basic \(token)"])
            #expect(basic.status == 401, "\(path)")
            let good = try AdminHTTP.request(path, host: Self.otherAddress, port: port, headers: ["Authorization": "Bearer \(token)"])
            #expect(good.status == 200, "\(path): \(good.text)")
        }
        let clients = try AdminHTTP.request("/api/clients", host: Self.otherAddress, port: port, headers: ["Authorization": "Bearer \(token)"]).json()
        #expect((clients["clients"] as? [[String: Any]])?.first?["machine"] as? String == "pc-1")
        // Health and readiness say nothing about clients and stay open for probes.
        #expect(try AdminHTTP.request("/health", host: Self.otherAddress, port: port).status == 200)
        #expect(try AdminHTTP.request("/ready", host: Self.otherAddress, port: port).status == 200)
        // The dashboard without a session is the login form, with 401.
        let page = try AdminHTTP.request("/", host: Self.otherAddress, port: port)
        #expect(page.status == 401)
        #expect(page.text.contains("name=\"token\""))
        #expect(!page.text.contains("pc-1"))
    }

    @Test("the login form sets an HttpOnly, SameSite=Strict session cookie that is not the token; logout ends it")
    func loginCookie() async throws {
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let host = try await LiveHost(fixture: fixture, adminListen: "\(Self.otherAddress):0")
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine(name: "pc-login"))
        let port = host.adminPort
        let form = ["Content-Type": "application/x-www-form-urlencoded"]

        let wrong = try AdminHTTP.request("POST", "/login", host: Self.otherAddress, port: port, headers: form, body: Data("token=nope".utf8))
        #expect(wrong.status == 401)
        #expect(wrong.header("set-cookie") == nil)

        let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token
        let login = try AdminHTTP.request("POST", "/login", host: Self.otherAddress, port: port, headers: form, body: Data("token=\(encoded)".utf8))
        #expect(login.status == 303)
        #expect(login.header("location") == "/")
        let cookie = try #require(login.header("set-cookie"))
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Strict"))
        #expect(!cookie.contains(token))
        let session = try #require(cookie.split(separator: ";").first.map(String.init))
        #expect(session.hasPrefix("tally_session="))
        #expect(session.count > "tally_session=".count + 40)

        let dashboard = try AdminHTTP.request("/", host: Self.otherAddress, port: port, headers: ["Cookie": session])
        #expect(dashboard.status == 200)
        #expect(dashboard.text.contains("pc-login"))
        #expect(try AdminHTTP.request("/api/status", host: Self.otherAddress, port: port, headers: ["Cookie": session]).status == 200)
        #expect(try AdminHTTP.request("/", host: Self.otherAddress, port: port, headers: ["Cookie": "tally_session=forged"]).status == 401)

        // A form posted from another site's page is refused.
        let crossSite = try AdminHTTP.request("POST", "/login", host: Self.otherAddress, port: port,
                                              headers: form.merging(["Origin": "http://evil.example"]) { $1 }, body: Data("token=\(encoded)".utf8))
        #expect(crossSite.status == 403)

        let logout = try AdminHTTP.request("POST", "/logout", host: Self.otherAddress, port: port, headers: ["Cookie": session])
        #expect(logout.status == 303)
        #expect(logout.header("set-cookie")?.contains("Max-Age=0") == true)
        #expect(try AdminHTTP.request("/", host: Self.otherAddress, port: port, headers: ["Cookie": session]).status == 401)
    }

    @Test("sessions expire after 12 hours of host time")
    func sessionExpiry() {
        let clock = HostClock.manual(Date(timeIntervalSince1970: 1_800_000_000))
        let sessions = AdminSessions(clock: clock)
        let id = sessions.create()
        let other = sessions.create()
        #expect(id != other)
        #expect(sessions.isValid(id))
        clock.advance(by: AdminSessions.lifetime - 1)
        #expect(sessions.isValid(id))
        clock.advance(by: 1)
        #expect(!sessions.isValid(id))
        #expect(!sessions.isValid("never-made"))
    }

    @Test("the activation port never serves admin data: every admin path is 404 there")
    func activationPortServesNoAdmin() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine(name: "secret-machine"))
        for path in ["/", "/api/status", "/api/clients", "/api/events", "/metrics", "/login", "/ready", "/dashboard"] {
            let response = try AdminHTTP.request(path, port: host.port)
            #expect(response.status == 404, "\(path) on the activation port: \(response.status)")
            #expect(!response.text.contains("secret-machine"))
        }
        let login = try AdminHTTP.request("POST", "/login", port: host.port, body: Data("token=x".utf8))
        #expect(login.status == 404)
        // The same paths answer on the admin port.
        #expect(try AdminHTTP.request("/api/clients", port: host.adminPort).text.contains("secret-machine"))
    }
}
