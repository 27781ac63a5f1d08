import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command line and a real `tally host serve`: a stale `admin.json` left by a killed host, the admin token
/// re-read on SIGHUP, and what `tally host set` says about applying a setting.
@Suite("CLI: stale admin.json, admin token reload, applying settings", .serialized)
struct AdminHardeningCLITests {
    /// A listening socket on 127.0.0.1 that never accepts by itself: whether anyone connected shows as a pending
    /// connection.
    final class Listener {
        let fd: Int32

        init(port: Int) throws {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var on: Int32 = 1
            setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(socketFD, 8) == 0 else {
                let error = errno
                close(socketFD)
                throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "listen on port \(port): errno \(error)"])
            }
            _ = fcntl(socketFD, F_SETFL, fcntl(socketFD, F_GETFL) | O_NONBLOCK)
            fd = socketFD
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

    /// The status of one GET to 127.0.0.x:port with a bearer token.
    static func status(_ path: String, host: String, port: Int, token: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "connect: errno \(errno)"]) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { break }
            data += chunk[0..<n]
        }
        let statusLine = String(decoding: data.prefix(while: { $0 != 13 }), as: UTF8.self).split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no HTTP answer"])
        }
        return status
    }

    @Test("tally host set says restart for the settings whose help says so, SIGHUP for the others")
    func setSaysHowToApply() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        for (name, value) in [("listen", "127.0.0.1:1688"), ("max-connections", "100")] {
            let result = try cli.run("host", "set", name, value, "--state-dir", "h")
            #expect(result.status == 0)
            #expect(result.stdout.contains("restart a running host to apply it"), "\(name): \(result.stdout)")
        }
        let interval = try cli.run("host", "set", "activation-interval", "120", "--state-dir", "h")
        #expect(interval.stdout.contains("a running host applies it on SIGHUP"), "\(interval.stdout)")
    }

    @Test("a host killed outright leaves admin.json behind: status, clients and events read the store and send nothing to its address")
    func staleAdminJSON() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        try AdminCLITests.writeToken(cli)
        #expect(try cli.run("host", "set", "admin-token-file", cli.path("admin-token"), "--state-dir", "h").status == 0)
        let (server, _, admin) = try AdminCLITests.serve(cli)
        defer { if server.isRunning { server.terminate() } }
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: cli.path("h/admin.json")))

        // Another program now listens on the dead host's admin port.
        let adminPort = try #require(Int(admin.split(separator: ":").last ?? ""))
        let listener = try Listener(port: adminPort)
        let status = try cli.run("host", "status", "--state-dir", "h")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("serving:              no (read from the store)"))
        #expect(try cli.run("host", "clients", "--state-dir", "h", "--json").status == 0)
        #expect(try cli.run("host", "events", "--state-dir", "h").status == 0)
        #expect(!listener.wasConnected, "the token was offered to whoever holds the stale address")
    }

    @Test("SIGHUP re-reads the admin token: the old token is refused, the new one answers, status goes through the API")
    func tokenReloadOnSIGHUP() throws {
        let cli = CLIRunner()
        defer { cli.cleanUp() }
        try HostServeCLITests.activatedHost(cli)
        try AdminCLITests.writeToken(cli)
        #expect(try cli.run("host", "set", "admin-token-file", cli.path("admin-token"), "--state-dir", "h").status == 0)
        #expect(try cli.run("host", "set", "admin-listen", "127.0.0.2:0", "--state-dir", "h").status == 0)
        let (server, _, admin) = try AdminCLITests.serve(cli, [])
        defer { if server.isRunning { server.terminate() } }
        let port = try #require(Int(admin.split(separator: ":").last ?? ""))
        let old = "cli-test-token-0123456789abcdefgh"
        let new = "rotated-token-" + UUID().uuidString
        #expect(try Self.status("/api/status", host: "127.0.0.2", port: port, token: old) == 200)

        // Rotate: write the new token in place (still 0600) and send SIGHUP.
        try Data((new + "\n").utf8).write(to: URL(fileURLWithPath: cli.path("admin-token")))
        #expect(try FileManager.default.attributesOfItem(atPath: cli.path("admin-token"))[.posixPermissions] as? Int == 0o600)
        kill(server.processIdentifier, SIGHUP)
        // The signal is handled asynchronously: ask until the new token answers (each try is one request).
        let deadline = Date().addingTimeInterval(20)
        var status = 0
        while status != 200 && Date() < deadline {
            status = try Self.status("/api/status", host: "127.0.0.2", port: port, token: new)
        }
        #expect(status == 200)
        #expect(try Self.status("/api/status", host: "127.0.0.2", port: port, token: old) == 401)
        let hostStatus = try cli.run("host", "status", "--state-dir", "h")
        #expect(hostStatus.stdout.contains("serving:              yes"), "\(hostStatus.stderr)")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
    }
}
