import Foundation
import NIOCore
import Testing
import TallyCore
import TallyFiles
import TallyHost
import TallyStore
import TallyTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The admin port against DNS rebinding, stale `admin.json` files, connection hoarding and a rotated token.
@Suite("Admin interface: Host names, stale endpoints, connection limits, token reload", .serialized)
struct AdminHardeningTests {
    /// One raw request on a new connection with exactly this `Host` header (or none).
    static func get(_ path: String, port: Int, host: String?, ipv6: Bool = false) throws -> RawHTTPConnection.Response {
        let connection = try RawHTTPConnection(port: port, ipv6: ipv6)
        try connection.send("GET \(path) HTTP/1.1\r\n" + (host.map { "Host: \($0)\r\n" } ?? "") + "Connection: close\r\n\r\n")
        return try connection.readResponse()
    }

    // MARK: DNS rebinding

    @Test("without a token a request for another Host name is 421 (DNS rebinding), for every path; loopback names are served")
    func rebinding() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        _ = try host.activate(LiveHost.Machine(name: "secret-machine"))
        let port = host.adminPort
        for path in ["/api/clients", "/api/status", "/", "/metrics", "/health", "/login"] {
            let rebound = try Self.get(path, port: port, host: "evil.example:\(port)")
            #expect(rebound.status == 421, "\(path)")
            #expect(!String(decoding: rebound.body, as: UTF8.self).contains("secret-machine"))
        }
        #expect(try Self.get("/api/clients", port: port, host: nil).status == 421)
        #expect(try Self.get("/api/clients", port: port, host: "127.0.0.1.evil.example:\(port)").status == 421)
        #expect(try Self.get("/api/clients", port: port, host: "localhost.evil.example").status == 421)
        let normal = try Self.get("/api/clients", port: port, host: "127.0.0.1:\(port)")
        #expect(normal.status == 200)
        #expect(String(decoding: normal.body, as: UTF8.self).contains("secret-machine"))
        #expect(try Self.get("/api/clients", port: port, host: "localhost:\(port)").status == 200)
        // An SSH port forward (`ssh -L 8080:127.0.0.1:PORT`) arrives as localhost:8080.
        #expect(try Self.get("/api/clients", port: port, host: "localhost:8080").status == 200)
    }

    @Test("the Host rule: loopback names with any port pass without a token; other names, look-alikes and no Host do not; a token allows any name")
    func hostRule() throws {
        let open = AdminAccess(token: nil, sessions: AdminSessions(clock: HostClock()))
        for host in ["127.0.0.1:1689", "127.0.0.1", "[::1]:1689", "[::1]", "localhost:1689", "LocalHost:80", "localhost"] {
            #expect(open.hostAllowed(host), "\(host)")
        }
        for host in ["evil.example:1689", "evil.example", "127.0.0.2:1689", "127.0.0.1.nip.io:1689", "localhost.evil.example", "[::2]:1689",
                     "[::1]x", "127.0.0.1:16a9", "::1", "", "0.0.0.0:1689", "[::ffff:127.0.0.1]:1689"] {
            #expect(!open.hostAllowed(host), "\(host)")
        }
        #expect(!open.hostAllowed(nil))
        let withToken = AdminAccess(token: "a-long-enough-token-0123456789xyz", sessions: AdminSessions(clock: HostClock()))
        #expect(withToken.hostAllowed("admin.corp.example:1689"))
        #expect(withToken.hostAllowed(nil))
    }

    @Test("with a token the Host name is not checked: the bearer token is the proof")
    func rebindingWithToken() async throws {
        let fixture = try ActivatedHost()
        let token = try configureToken(fixture)
        let host = try await LiveHost(fixture: fixture, adminListen: "127.0.0.2:0")
        defer { Task { await host.stop() } }
        let response = try AdminHTTP.request("/api/status", host: "127.0.0.2", port: host.adminPort,
                                             headers: ["Host": "tally-admin.corp.example", "Authorization": "Bearer \(token)"])
        #expect(response.status == 200)
        #expect(try AdminHTTP.request("/api/status", host: "127.0.0.2", port: host.adminPort, headers: ["Host": "evil.example"]).status == 401)
    }

    // MARK: Connection limit and timeouts

    @Test("the admin port holds at most 64 connections: the 65th gets 503 and is closed; a freed slot is usable again")
    func connectionLimit() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        let port = host.adminPort
        var held: [RawHTTPConnection] = []
        for _ in 0..<64 {
            let connection = try RawHTTPConnection(port: port)
            // Answered, so accepted (and counted) before the next one arrives.
            try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
            held.append(connection)
        }
        let refused = try RawHTTPConnection(port: port)
        let answer = try refused.readResponse()
        #expect(answer.status == 503)
        #expect(try answer.json()["code"] as? String == ResultCode.hostBusy.hex)
        #expect(refused.readsEOF())
        held.removeLast()  // closes one
        var served = false
        for _ in 0..<200 where !served {
            if let connection = try? RawHTTPConnection(port: port) {
                try? connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n")
                served = (try? connection.readResponse().status) == 200
            }
        }
        #expect(served)
        _ = held
    }

    /// An admin server of its own over a live host's store and service, with short timeouts.
    static func adminServer(_ host: LiveHost, limits: ConnectionLimits) async throws -> AdminServer {
        let runtime = host.runtime
        let context = AdminContext(directory: runtime.directory, store: runtime.store, pipeline: runtime.pipeline, state: runtime.state,
                                   metrics: runtime.metrics,
                                   clock: host.clock, access: AdminAccess(token: nil, sessions: AdminSessions(clock: host.clock)),
                                   activationAddress: runtime.address, startedAt: host.clock.now())
        return try await AdminServer.start(address: BindAddress("127.0.0.1:0"), router: AdminRouter(context: context), logger: LiveHost.quietLogger,
                                           limits: limits)
    }

    @Test("an idle admin connection is closed at the idle timeout")
    func idleTimeout() async throws {
        let host = try await LiveHost(adminListen: "none")
        defer { Task { await host.stop() } }
        let admin = try await Self.adminServer(host, limits: ConnectionLimits(maxConnections: 64, idleTimeout: .seconds(1), readTimeout: .seconds(10)))
        defer { Task { await admin.shutdown() } }
        let connection = try RawHTTPConnection(port: admin.address.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1:\(admin.address.port)\r\n\r\n")
        #expect(try connection.readResponse().status == 200)
        // Blocks until the server closes the idle connection (bounded by the socket's 10 s receive timeout).
        #expect(connection.readsEOF())
        // A connection that never sends a byte is closed the same way.
        #expect(try RawHTTPConnection(port: admin.address.port).readsEOF())
    }

    @Test("an admin request not complete within the read timeout gets 408 and the connection is closed")
    func readTimeout() async throws {
        let host = try await LiveHost(adminListen: "none")
        defer { Task { await host.stop() } }
        let admin = try await Self.adminServer(host, limits: ConnectionLimits(maxConnections: 64, idleTimeout: .seconds(60), readTimeout: .seconds(1)))
        defer { Task { await admin.shutdown() } }
        let connection = try RawHTTPConnection(port: admin.address.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  // the head never ends
        let answer = try connection.readResponse()
        #expect(answer.status == 408)
        #expect(try answer.json()["code"] as? String == ResultCode.requestTimeout.hex)
        #expect(connection.readsEOF())
    }

    // MARK: Token reload (SIGHUP)

    @Test("reloading the token file: a new token works at once, the old one and every session end; a bad file keeps the old token")
    func tokenReload() throws {
        let temp = TemporaryDirectory()
        let directory = StateDirectory(temp.path("h"))
        let path = temp.path("admin-token")
        func write(_ token: String, mode: Int = 0o600) {
            try? FileManager.default.removeItem(atPath: path)
            #expect(FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: mode]))
        }
        write("first-token-0123456789-abcdefghij")
        let access = try AdminAccess.load(address: BindAddress("127.0.0.2:0"), tokenFile: path, directory: directory, clock: HostClock())
        let session = access.sessions.create()
        #expect(access.sessions.isValid(session))

        // The same token again changes nothing.
        #expect(try access.reload(tokenFile: path, directory: directory) == false)
        #expect(access.sessions.isValid(session))

        write("second-token-0123456789-abcdefghij")
        #expect(try access.reload(tokenFile: path, directory: directory) == true)
        #expect(access.tokenMatches("second-token-0123456789-abcdefghij"))
        #expect(!access.tokenMatches("first-token-0123456789-abcdefghij"))
        #expect(!access.sessions.isValid(session))

        // A file others may read, or a short token, is refused and the token in use stays.
        write("third-token-0123456789-abcdefghij", mode: 0o644)
        #expect(throws: TallyError.self) { try access.reload(tokenFile: path, directory: directory) }
        write("short")
        #expect(throws: TallyError.self) { try access.reload(tokenFile: path, directory: directory) }
        #expect(access.tokenMatches("second-token-0123456789-abcdefghij"))

        // Turning the token off, or on for an open port, needs a restart.
        #expect(throws: TallyError.self) { try access.reload(tokenFile: nil, directory: directory) }
        #expect(access.requiresToken)
        let open = AdminAccess(token: nil, sessions: AdminSessions(clock: HostClock()))
        write("fourth-token-0123456789-abcdefghij")
        #expect(throws: TallyError.self) { try open.reload(tokenFile: path, directory: directory) }
        #expect(!open.requiresToken)
        #expect(try open.reload(tokenFile: nil, directory: directory) == false)
    }

    // MARK: Stale admin.json

    /// A listening socket that never accepts: whether anyone connected shows as a pending connection.
    final class Listener {
        let fd: Int32
        let port: Int

        init() throws {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) } }
            guard bound == 0, listen(socketFD, 8) == 0 else {
                close(socketFD)
                throw AdminHTTP.Failure(description: "listen: errno \(errno)")
            }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
            _ = fcntl(socketFD, F_SETFL, fcntl(socketFD, F_GETFL) | O_NONBLOCK)
            fd = socketFD
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }

        /// Whether a connection is waiting (non-blocking accept).
        var wasConnected: Bool {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return false }
            close(client)
            return true
        }
    }

    /// The pid of a process that has exited and been reaped.
    static func deadPid() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test("a stale admin.json (its host was killed) is ignored: nothing connects to its address, the token is not sent, the store is read")
    func staleEndpoint() throws {
        let fixture = try ActivatedHost()
        _ = try configureToken(fixture)
        let directory = fixture.host.directory
        let listener = try Listener()
        let pid = try Self.deadPid()
        #expect(kill(pid, 0) != 0)
        try directory.writeJSON(AdminEndpoint(address: "127.0.0.1:\(listener.port)", tokenRequired: true, pid: pid), to: AdminEndpoint.fileName)
        #expect(AdminClient.endpoint(directory) == nil)
        #expect(try AdminClient.fetch(AdminStatus.self, "/api/status", directory: directory) == nil)
        #expect(!listener.wasConnected)
        // The same file with a pid that is a running `tally … serve` is used.
        #expect(AdminClient.endpoint(directory, isServing: { $0 == pid })?.address.port == listener.port)
    }

    /// Starts a process and waits until it has exec'd (its /proc cmdline shows `marker`): `Process.run` may return before.
    static func spawn(_ path: String, _ arguments: [String], marker: String, input: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let input { process.standardInput = input }
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.processIdentifier)/cmdline"))) ?? Data()
            if String(decoding: cmdline, as: UTF8.self).contains(marker) { break }
        }
        return process
    }

    @Test("a pid that is alive but not a `tally … serve` (reused after a crash) is not a serving host; one that is, is")
    func servingHostCheck() throws {
        let sleeper = try Self.spawn("/bin/sleep", ["30"], marker: "sleep")
        defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }
        #expect(!AdminEndpoint.isServingHost(sleeper.processIdentifier))
        #expect(!AdminEndpoint.isServingHost(try Self.deadPid()))
        #expect(!AdminEndpoint.isServingHost(0))
        #expect(!AdminEndpoint.isServingHost(-1))

        // A process whose command line is `… tally host serve …`: a shell named tally by $0 that waits on its input
        // with a builtin (no child process to outlive it).
        let input = Pipe()
        let serving = try Self.spawn("/bin/sh", ["-c", "read line", "/usr/local/bin/tally", "host", "serve", "--state-dir", "/var/lib/tally-host"],
                                     marker: "/usr/local/bin/tally", input: input)
        defer { kill(serving.processIdentifier, SIGKILL); serving.waitUntilExit() }
        #expect(AdminEndpoint.isServingHost(serving.processIdentifier))
    }
}
