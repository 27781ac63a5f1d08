import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyLoad
import TallyVendor

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure activations per second on loopback (new connection and keep-alive) against Ed25519 signing.",
        discussion: "Builds a vendor and an activated host in a temporary directory, passes the threshold, then sends distinct CMIDs so every answer is a signed ticket committed with synchronous=FULL. Run a release build: swift run -c release tally bench"
    )
    @Option(help: "Concurrent client connections.") var connections = 16
    @Option(help: "Seconds per mode.") var seconds = 5.0
    @Option(help: "new, keepalive or both.") var mode = "both"
    @Option(help: "Host event loop threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Group commit: most requests per transaction.") var batch = 256
    @Option(help: "Group commit: microseconds to wait to fill a batch.") var waitMicroseconds = 0
    @Option(help: "Store checkpoints: commit or background.") var walCheckpoint = "commit"
    @Option(help: "Also run keep-alive paced at this fraction of the keep-alive maximum (0 to skip).") var paced = 0.5
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var cores: Int
        var signaturesPerSecondOneCore: Double
        var results: [LoadDriver.Result]
        var ratios: [String: Double]
        var hostCPUMicrosecondsPerRequest: [String: Double]
        var hostIdleRSSKilobytes: Int
        var hostLoadedRSSKilobytes: Int
    }

    func run() async throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("tally-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: temp) }
        let vendor = VendorAuthority(directory: StateDirectory(temp + "/vendor"))
        _ = try vendor.initialise(vendorID: "bench", vendorName: "Bench")
        let key = try vendor.issueHostKey(group: "studio-2026")
        let directory = StateDirectory(temp + "/host")
        let identity = HostIdentity(directory: directory)
        _ = try identity.installKey(key.description, vendorRoots: [try vendor.publicKey()])
        _ = try identity.installCertificate(try vendor.activateHost(request: identity.activationRequest()).certificate)
        var settings = HostSettings()
        settings.groupCommitMaxBatch = batch
        settings.groupCommitMaxWaitMicroseconds = waitMicroseconds
        settings.rateLimitPerAddress = 0  // every request comes from 127.0.0.1
        settings.dnsPublishing = false
        try settings.set("wal-checkpoint", to: walCheckpoint)
        try settings.save(to: directory)
        // The host runs as its own process (`tally host serve`), so its CPU is measured apart from the driver's.
        let child = try HostProcess.start(stateDirectory: directory.url.path, threads: threads)
        defer { child.stop() }
        let idleRSS = child.residentKilobytes()

        let signing = SigningRate.measure(seconds: 1)
        let bodiesNeeded = Int(seconds * 40_000)
        func bodies(_ count: Int) -> [Data] {
            (0..<count).map { _ in
                let body = ActivationRequestBody(cmid: CMID.generate(), sku: "studio-pro",
                                                 fingerprint: MachineFingerprint.compute(machineID: UUID().uuidString, productUUID: nil),
                                                 machine: "bench", clientTime: Date(), nonce: Base64URL.encode(Data((0..<16).map { _ in UInt8.random(in: 0...255) })),
                                                 licenseStatus: .initialGrace, minutesToExpiry: 43_200)
                return try! TallyJSON.encode(body)
            }
        }
        // Pass the threshold first, so every measured answer carries a ticket.
        _ = LoadDriver(port: child.port, connections: 1, keepAlive: true, duration: 30, bodies: bodies(25)).run()

        var results: [LoadDriver.Result] = []
        var hostCPU: [String: Double] = [:]
        for keepAlive in [false, true] where mode == "both" || (mode == "keepalive") == keepAlive {
            let prepared = bodies(bodiesNeeded)
            let before = child.cpuSeconds()
            let result = LoadDriver(port: child.port, connections: connections, keepAlive: keepAlive, duration: seconds, bodies: prepared).run()
            hostCPU[result.mode] = (child.cpuSeconds() - before) / Double(max(result.requests, 1)) * 1_000_000
            results.append(result)
        }
        if paced > 0, let best = results.last(where: { $0.mode == "keep-alive" }) {
            let prepared = bodies(bodiesNeeded)
            let before = child.cpuSeconds()
            let result = LoadDriver(port: child.port, connections: connections, keepAlive: true, duration: seconds, bodies: prepared,
                                    rate: best.perSecond * paced).run()
            hostCPU[result.mode] = (child.cpuSeconds() - before) / Double(max(result.requests, 1)) * 1_000_000
            results.append(result)
        }
        let loadedRSS = child.residentKilobytes()

        let cores = ProcessInfo.processInfo.activeProcessorCount
        var ratios: [String: Double] = [:]
        for result in results {
            ratios[result.mode + " / (cores × signatures per second)"] = result.perSecond / (Double(cores) * signing)
        }
        let report = Report(cores: cores, signaturesPerSecondOneCore: signing, results: results, ratios: ratios,
                            hostCPUMicrosecondsPerRequest: hostCPU, hostIdleRSSKilobytes: idleRSS, hostLoadedRSSKilobytes: loadedRSS)
        Output.emit(report, json: output.json) {
            var lines = [String(format: "Ed25519 signatures per second, one core: %.0f (cores: %d)", signing, cores)]
            lines.append("mode             conns  requests  errors  per second  p50 ms  p99 ms  max ms  host CPU µs/req  vs cores×sign")
            for r in results {
                lines.append(String(format: "%-16@ %5d  %8d  %6d  %10.0f  %6.2f  %6.2f  %6.1f  %15.1f  %12.1f%%",
                                    r.mode as NSString, r.connections, r.requests, r.errors, r.perSecond, r.p50Milliseconds,
                                    r.p99Milliseconds, r.maxMilliseconds, hostCPU[r.mode] ?? 0, 100 * r.perSecond / (Double(cores) * signing)))
                lines.append("                 results: " + r.resultCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            lines.append("host RSS: \(idleRSS / 1024) MB idle, \(loadedRSS / 1024) MB after the runs. Batch \(batch), wait \(waitMicroseconds) µs; results sampled 1 in 64.")
            return lines.joined(separator: "\n")
        }
    }
}

/// `tally host serve` as a child process on 127.0.0.1 port 0, with its CPU time and RSS read from /proc.
final class HostProcess {
    let process: Process
    let port: Int

    static func start(stateDirectory: String, threads: Int) throws -> HostProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["host", "serve", "--state-dir", stateDirectory, "--listen", "127.0.0.1:0", "--admin-listen", "none", "--json",
                             "--log-level", "error", "--threads", String(threads)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        // `serve --json` prints one JSON object once it accepts; read until its closing brace.
        var text = ""
        while !text.contains("}") {
            let chunk = pipe.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw TallyError(.usageError, "the host process exited before listening") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String],
              let port = object["port"].flatMap(Int.init)
        else { throw TallyError(.usageError, "the host process printed no port: \(text)") }
        return HostProcess(process: process, port: port)
    }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// User plus system CPU seconds of the host process.
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func residentKilobytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
