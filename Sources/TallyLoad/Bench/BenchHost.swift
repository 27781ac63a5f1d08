import Crypto
import Foundation
import TallyCore

/// One host binary under test. Its state is made by its own CLI (`vendor init`, `host install-key`,
/// `host activate`, `host set`), as an administrator would, so a baseline need not read this binary's formats.
/// Each measure runs on a copy of a template state directory that has passed the threshold.
final class BenchHost {
    let label: String
    let binary: String
    let root: String
    let threads: Int?
    var template: String { root + "/template" }
    var protocolVersion = 2
    var certificateHash = ""
    /// Clients counted in the template state.
    var known = 0
    var wire: WireFigures?
    var runsMade = 0

    init(label: String, binary: String, root: String, threads: Int?) {
        self.label = label
        self.binary = binary
        self.root = root
        self.threads = threads
    }

    /// Runs `tally ARGUMENTS` and returns its stdout; a failure is an error with its stderr.
    @discardableResult
    func cli(_ arguments: [String], timeout: Double = 600) throws(BenchError) -> String {
        let out = root + "/cli.out", err = root + "/cli.err"
        let child = try ChildProcess(binary: binary, arguments: arguments, captureOutput: false, stdoutPath: out, stderrPath: err)
        guard let usage = child.wait(timeout: timeout) else {
            _ = child.stop(signal: SIGKILL)
            throw BenchError("\(label): tally \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s")
        }
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard usage.exitCode == 0 else {
            let stderr = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw BenchError("\(label): tally \(arguments.joined(separator: " ")) failed: \(stderr)\(stdout)")
        }
        return stdout
    }

    /// A vendor and an activated host, with rate limiting, the new-machine budget and DNS publishing off, made by this binary's CLI.
    func setUp(settings: [(String, String)]) throws(BenchError) {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create \(root): \(error)")
        }
        let vendor = root + "/vendor", request = root + "/host-request.jwt", certificate = root + "/host-certificate.jwt"
        try cli(["vendor", "init", "--state-dir", vendor])
        let issued = try cli(["vendor", "issue-host-key", "--state-dir", vendor, "--group", "studio-2026", "--json"])
        guard let object = try? JSONSerialization.jsonObject(with: Data(issued.utf8)) as? [String: Any], let key = object["key"] as? String else {
            throw BenchError("\(label): vendor issue-host-key printed no key: \(issued)")
        }
        try cli(["host", "install-key", key, "--state-dir", template, "--vendor-jwk", vendor + "/vendor-public.jwk"])
        try cli(["host", "activate", "--state-dir", template, "--offline-request", request])
        try cli(["vendor", "activate-host", request, "--out", certificate, "--state-dir", vendor])
        try cli(["host", "activate", "--certificate", certificate, "--state-dir", template])
        try cli(["host", "set", "rate-limit", "0", "--state-dir", template])
        try cli(["host", "set", "dns-publishing", "off", "--state-dir", template])
        // The load comes from one address: its budget of new machines a day would refuse all but the first
        // thousand. A binary from before the budget knows no such setting and has no budget to lift.
        if (try? cli(["host", "get", "new-machines-per-address", "--state-dir", template])) != nil {
            try cli(["host", "set", "new-machines-per-address", "0", "--state-dir", template])
        }
        for (name, value) in settings { try cli(["host", "set", name, value, "--state-dir", template]) }
        // hch names the certificate as the host stores it (the vendor's file when the state holds none).
        let stored = (try? String(contentsOfFile: template + "/certificate.jwt", encoding: .utf8))
            ?? (try? String(contentsOfFile: certificate, encoding: .utf8)) ?? ""
        let compact = stored.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !compact.isEmpty else { throw BenchError("\(label): no host certificate to hash") }
        certificateHash = Base64URL.encode(Data(SHA256.hash(data: Data(compact.utf8))))
    }

    /// `tally host serve` on 127.0.0.1 port 0 with the admin port off (or, with `admin`, on 127.0.0.1 port 0 too), on
    /// `directory`.
    func serve(_ directory: String, timeout: Double = 600, admin: Bool = false) throws(BenchError) -> RunningHost {
        var arguments = ["host", "serve", "--state-dir", directory, "--listen", "127.0.0.1:0", "--admin-listen", admin ? "127.0.0.1:0" : "none", "--json"]
        if let threads { arguments += ["--threads", String(threads)] }
        let log = directory + ".log"
        let child = try ChildProcess(binary: binary, arguments: arguments, captureOutput: true, stderrPath: log)
        // `serve --json` prints one JSON object once it accepts (possibly over several lines); text mode a line.
        var line = ""
        let deadline = Clocks.monotonic() + timeout
        while !(line.hasPrefix("listening on ") || line.hasPrefix("{") && line.contains("}")) {
            guard let next = child.readLine(timeout: deadline - Clocks.monotonic()) else {
                _ = child.stop(signal: SIGKILL)
                let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw BenchError("\(label): host serve printed no listening line (\(line)): \(stderr.suffix(2000))")
            }
            line += line.isEmpty ? next.trimmingCharacters(in: .whitespaces) : next
        }
        let listeningAt = Clocks.monotonic()
        guard let port = Self.port(fromServeLine: line) else {
            _ = child.stop(signal: SIGKILL)
            throw BenchError("\(label): host serve printed no port: \(line)")
        }
        var adminPort: Int?
        if admin {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            adminPort = (object?["admin"] as? String).flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
            guard adminPort != nil else {
                _ = child.stop(signal: SIGKILL)
                throw BenchError("\(label): host serve printed no admin address: \(line)")
            }
        }
        return RunningHost(process: child, port: port, listeningAt: listeningAt, log: log, adminPort: adminPort)
    }

    /// The port in `serve --json`'s line (a string or a number), or in "listening on ADDR:PORT".
    static func port(fromServeLine line: String) -> Int? {
        if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
            if let port = object["port"] as? Int { return port }
            if let port = (object["port"] as? String).flatMap(Int.init) { return port }
            return nil
        }
        if line.hasPrefix("listening on "), let last = line.split(separator: ":").last { return Int(last) }
        return nil
    }

    /// A fresh copy of the template state, for one measure.
    func copyTemplate(_ name: String) throws(BenchError) -> String {
        runsMade += 1
        let directory = root + "/\(name)-\(runsMade)"
        let copy = try ChildProcess(binary: "/bin/cp", arguments: ["-a", template, directory], captureOutput: false)
        guard copy.wait(timeout: 600)?.exitCode == 0 else { throw BenchError("\(label): could not copy the template state to \(directory)") }
        return directory
    }

    func remove(_ directory: String, keep: Bool) {
        guard !keep else { return }
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.removeItem(atPath: directory + ".log")
    }

    /// The request this host understands, with `hch` or without.
    func request(keepAlive: Bool = true, holdingCertificate: Bool = false) -> ActivationRequestTemplate {
        ActivationRequestTemplate(version: protocolVersion, certificateHash: holdingCertificate ? certificateHash : nil, keepAlive: keepAlive)
    }
}

/// A `tally host serve` process that printed its port.
struct RunningHost {
    let process: ChildProcess
    let port: Int
    let listeningAt: Double
    let log: String
    /// The admin port, when it was asked for.
    var adminPort: Int? = nil

    var pid: Int32 { process.pid }

    func read(_ name: String) -> String { ProcFiles.read(name, pid: pid) ?? "" }

    /// The end of the host's log, for an error message.
    var logTail: String { String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(2000)) }
}
