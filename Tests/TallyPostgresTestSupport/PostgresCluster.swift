import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL 15 cluster for one suite: `initdb` and `pg_ctl` run as the `postgres` user (both refuse
/// root) in a temporary directory owned by it, listening on 127.0.0.1 at a free port with its socket in the same
/// directory, trust authentication for the user `tally`. ``stop()`` stops it (`-m immediate`) and removes it.
///
/// `scripts/test` installs PostgreSQL 15 when it is missing; a machine without it fails these tests, it never skips them.
public final class PostgresCluster: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    public static let user = "tally"

    public let directory: String
    public let port: Int
    public var dataDirectory: String { directory + "/data" }

    /// `postgresql://tally@127.0.0.1:PORT/DB`.
    public func url(database: String = "tally") -> String { "postgresql://\(PostgresCluster.user)@127.0.0.1:\(port)/\(database)" }

    /// Makes and starts a cluster; at most about 20 s for each step, then a clear failure.
    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: PostgresCluster.binaries + "/initdb") else {
            throw Spawn.Failure("PostgreSQL 15 is not installed (\(PostgresCluster.binaries)/initdb is missing): `apt-get install postgresql-15` (scripts/test does)")
        }
        let base = "/tmp/tally-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = base
        port = try PostgresCluster.freePort()
        try Spawn.check(["/bin/chown", "postgres:postgres", base])
        try Spawn.check(["/sbin/runuser", "-u", "postgres", "--", PostgresCluster.binaries + "/initdb", "-D", base + "/data", "-A", "trust",
                         "-U", PostgresCluster.user, "--no-sync", "-E", "UTF8"], timeout: 30)
        try start()
        try psql("CREATE DATABASE tally", database: "postgres")
    }

    /// Starts the server (again, after ``stopServer()``) on the same port and data.
    public func start() throws {
        try Spawn.check(["/sbin/runuser", "-u", "postgres", "--", PostgresCluster.binaries + "/pg_ctl", "-D", dataDirectory, "-l", directory + "/server.log",
                         "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=60", "-w", "-t", "20", "start"],
                        timeout: 25)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: as a crash would), keeping its data.
    public func stopServer() throws {
        try Spawn.check(["/sbin/runuser", "-u", "postgres", "--", PostgresCluster.binaries + "/pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "20", "stop"],
                        timeout: 25)
    }

    /// Runs SQL through `psql` on the socket, as the `tally` user; returns what it printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, database: String = "tally") throws -> String {
        try Spawn.check(["/sbin/runuser", "-u", "postgres", "--", "/usr/bin/psql", "-h", directory, "-p", String(port), "-U", PostgresCluster.user,
                         "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], timeout: 20)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new empty database in the cluster; returns its URL.
    public func makeDatabase(_ name: String) throws -> String {
        try psql("CREATE DATABASE \(name)", database: "postgres")
        return url(database: name)
    }

    /// Stops the server and removes the cluster's directory.
    public func stop() {
        _ = try? stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A port nothing listens on now: bind port 0 and read back what the kernel chose.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Spawn.Failure("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw Spawn.Failure("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
