import Foundation
import TallyDNS

/// A real BIND 9 `named` on loopback for one test: its own directory, a high port (UDP and TCP, IPv4 and
/// IPv6), a zone `tally.test.` that takes updates signed with a `tsig-keygen` key, and a zone `locked.test.`
/// that takes none.
///
/// Started with ``start(records:)``, stopped with ``stop()``; readiness is awaited by reading named's own log
/// for "running" and then asking for the zone's SOA a bounded number of times, never by sleeping.
public final class NamedServer: @unchecked Sendable {
    public static let zone = try! DNSName("tally.test")
    public static let lockedZone = try! DNSName("locked.test")
    public static let keyName = "tally-key"

    public let directory: URL
    public let port: UInt16
    /// The key named accepts (a file `tsig-keygen` wrote).
    public let keyFile: String
    /// A key with the same name and algorithm but another secret.
    public let wrongSecretKeyFile: String
    /// A key named knows nothing about.
    public let unknownKeyFile: String
    private let process: Process
    private let output: OutputCollector

    public var server: DNSServerAddress { try! DNSServerAddress(host: "127.0.0.1", port: port) }
    public var serverV6: DNSServerAddress { try! DNSServerAddress(host: "::1", port: port) }
    public var key: TSIGKey { try! TSIGKey.load(path: keyFile) }
    public var log: String { output.text }

    /// A resolver asking only this server, quickly.
    public func resolverConfiguration(timeout: Double = 2, attempts: Int = 2) -> ResolverConfiguration {
        ResolverConfiguration(nameServers: [server], timeout: timeout, attempts: attempts)
    }

    private init(directory: URL, port: UInt16, process: Process, output: OutputCollector) {
        self.directory = directory
        self.port = port
        self.process = process
        self.output = output
        keyFile = directory.appendingPathComponent("tally-key.conf").path
        wrongSecretKeyFile = directory.appendingPathComponent("wrong-secret.conf").path
        unknownKeyFile = directory.appendingPathComponent("unknown-key.conf").path
    }

    /// The records every test zone has: the name server, hosts with addresses, and a name with no SRV.
    public static let baseRecords = [
        "@ IN NS ns1",
        "ns1 IN A 127.0.0.1",
        "ns1 IN AAAA ::1",
        "host1 IN A 127.0.0.1",
        "host2 IN A 127.0.0.1",
        "host3 IN A 127.0.0.1",
        "host6 IN AAAA ::1",
        "_tally._tcp.nosrv IN TXT \"this name exists and has no SRV records\"",
    ]

    /// Starts named with `records` (zone-file lines relative to `tally.test.`) added to ``baseRecords``.
    public static func start(records: [String] = []) throws -> NamedServer {
        var lastFailure = "no free port"
        for _ in 0..<5 {
            guard let port = LoopbackSockets.freePort() else { continue }
            do {
                return try start(records: records, port: port)
            } catch let failure as NamedFailure {
                lastFailure = failure.description
                // A port taken between the check and named's bind: try another.
                guard failure.portInUse else { throw failure }
            }
        }
        throw NamedFailure(description: "named did not start: \(lastFailure)", portInUse: false)
    }

    private static func start(records: [String], port: UInt16) throws -> NamedServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-named-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let keygen = try tool("tsig-keygen")
        try run(keygen, ["-a", "hmac-sha256", keyName]).write(to: directory.appendingPathComponent("tally-key.conf"), atomically: true, encoding: .utf8)
        try run(keygen, ["-a", "hmac-sha256", keyName]).write(to: directory.appendingPathComponent("wrong-secret.conf"), atomically: true, encoding: .utf8)
        try run(keygen, ["-a", "hmac-sha256", "stranger-key"]).write(to: directory.appendingPathComponent("unknown-key.conf"), atomically: true, encoding: .utf8)
        // Private, as a host's key file must be (Tally refuses a key file others can read).
        for file in ["tally-key.conf", "wrong-secret.conf", "unknown-key.conf"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.appendingPathComponent(file).path)
        }
        let soa = "@ IN SOA ns1 hostmaster 1 3600 600 86400 300"
        let zoneText = (["$TTL 300", soa] + baseRecords + records).joined(separator: "\n") + "\n"
        try zoneText.write(to: directory.appendingPathComponent("tally.test.zone"), atomically: true, encoding: .utf8)
        try "$TTL 300\n\(soa)\n@ IN NS ns1\nns1 IN A 127.0.0.1\n".write(to: directory.appendingPathComponent("locked.test.zone"), atomically: true, encoding: .utf8)
        // A fresh directory has no journal, but a reused one must not replay old updates.
        for file in ["tally.test.zone.jnl", "locked.test.zone.jnl"] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
        let path = directory.path
        let conf = """
        include "\(path)/tally-key.conf";
        options {
            directory "\(path)";
            pid-file none;
            session-keyfile none;
            managed-keys-directory "\(path)";
            listen-on port \(port) { 127.0.0.1; };
            listen-on-v6 port \(port) { ::1; };
            recursion no;
            dnssec-validation no;
            notify no;
        };
        controls { };
        zone "tally.test" {
            type primary;
            file "tally.test.zone";
            update-policy { grant \(keyName) zonesub ANY; };
        };
        zone "locked.test" {
            type primary;
            file "locked.test.zone";
        };
        """
        let confURL = directory.appendingPathComponent("named.conf")
        try conf.write(to: confURL, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try tool("named"))
        // -g: foreground, log to stderr; -n 1: one worker thread, the machine is small.
        process.arguments = ["-g", "-n", "1", "-c", confURL.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputCollector(pipe.fileHandleForReading)
        try process.run()
        let named = NamedServer(directory: directory, port: port, process: process, output: output)
        // "running" alone at the end of a line (an earlier line says "running on Linux …").
        guard output.wait(forLineEndingWith: " running", timeout: 60) else {
            named.stop()
            let log = output.text
            throw NamedFailure(description: "named did not come up on port \(port):\n\(log.suffix(3000))",
                               portInUse: log.contains("address in use") || log.contains("Address already in use"))
        }
        if log(named: named).contains("address in use") {
            named.stop()
            throw NamedFailure(description: "port \(port) was taken", portInUse: true)
        }
        // named logs "running" once it listens; make sure the zone answers before handing it out.
        let resolver = DNSResolver(configuration: named.resolverConfiguration(timeout: 0.5, attempts: 1))
        for _ in 0..<40 {
            if let answer = try? resolver.query(zone, type: .soa), !answer.answers(.soa, for: zone).isEmpty { return named }
        }
        named.stop()
        throw NamedFailure(description: "named on port \(port) never answered for \(zone) SOA:\n\(output.text.suffix(3000))", portInUse: true)
    }

    private static func log(named: NamedServer) -> String { named.output.text }

    /// Stops named (SIGTERM, then waits for it) and removes its directory.
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        output.wait(forEOF: 10)
        try? FileManager.default.removeItem(at: directory)
    }

    /// `dig @127.0.0.1 -p PORT +short NAME TYPE`, one answer per line, sorted.
    public func dig(_ name: String, _ type: String) throws -> [String] {
        let text = try NamedServer.run(try NamedServer.tool("dig"), ["@127.0.0.1", "-p", String(port), "+short", "+norecurse", "+time=2", "+tries=2", name, type])
        return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix(";") }.sorted()
    }

    /// Runs an `nsupdate` script (the `server` line is added) with a key file; returns its exit status and output.
    public func nsupdate(_ commands: [String], keyFile: String? = nil) throws -> (status: Int32, output: String) {
        let script = (["server 127.0.0.1 \(port)"] + commands + ["send", ""]).joined(separator: "\n")
        let scriptURL = directory.appendingPathComponent("nsupdate-\(UUID().uuidString).txt")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        return try NamedServer.runStatus(try NamedServer.tool("nsupdate"), ["-k", keyFile ?? self.keyFile, scriptURL.path])
    }

    // MARK: - Running tools

    /// The path of a BIND tool: on PATH, or in /usr/sbin and /usr/bin where Debian puts them.
    public static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NamedFailure(description: "\(name) is not installed: install Debian's bind9 and bind9-dnsutils (scripts/test does)", portInUse: false)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let (status, output) = try runStatus(tool, arguments)
        guard status == 0 else { throw NamedFailure(description: "\(tool) \(arguments.joined(separator: " ")) failed (\(status)): \(output)", portInUse: false) }
        return output
    }

    static func runStatus(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

public struct NamedFailure: Error, CustomStringConvertible {
    public var description: String
    var portInUse: Bool
}

/// Reads a pipe on its own thread until EOF, so named never blocks on a full pipe, and lets a test wait
/// (on a condition, not a sleep) until a line appears.
final class OutputCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var data = Data()
    private var ended = false

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty { ended = true } else { data.append(chunk) }
                condition.broadcast()
                condition.unlock()
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    var text: String {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: data, as: UTF8.self)
    }

    /// Waits until a line ending in `suffix` has been written, the output ends, or `timeout` passes; true when
    /// the line came.
    func wait(forLineEndingWith suffix: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        func seen() -> Bool {
            String(decoding: data, as: UTF8.self).split(separator: "\n").contains { $0.hasSuffix(suffix) }
        }
        while true {
            if seen() { return true }
            if ended || !condition.wait(until: deadline) { return seen() }
        }
    }

    func wait(forEOF timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !ended, condition.wait(until: deadline) {}
    }
}
