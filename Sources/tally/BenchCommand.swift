import ArgumentParser
import Foundation
import Logging
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
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var cores: Int
        var signaturesPerSecondOneCore: Double
        var results: [LoadDriver.Result]
        var ratios: [String: Double]
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
        try settings.save(to: directory)
        var logger = Logger(label: "tally.bench")
        logger.logLevel = .error
        let runtime = try await HostRuntime.start(directory: directory, listen: "127.0.0.1:0", logger: logger, threads: threads)

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
        _ = LoadDriver(port: runtime.address.port, connections: 1, keepAlive: true, duration: 30, bodies: bodies(25)).run()

        var results: [LoadDriver.Result] = []
        for keepAlive in [false, true] where mode == "both" || (mode == "keepalive") == keepAlive {
            results.append(LoadDriver(port: runtime.address.port, connections: connections, keepAlive: keepAlive,
                                      duration: seconds, bodies: bodies(bodiesNeeded)).run())
        }
        await runtime.shutdown()

        let cores = ProcessInfo.processInfo.activeProcessorCount
        var ratios: [String: Double] = [:]
        for result in results {
            ratios[result.mode + " / (cores × signatures per second)"] = result.perSecond / (Double(cores) * signing)
        }
        let report = Report(cores: cores, signaturesPerSecondOneCore: signing, results: results, ratios: ratios)
        Output.emit(report, json: output.json) {
            var lines = [String(format: "Ed25519 signatures per second, one core: %.0f (cores: %d)", signing, cores)]
            lines.append("mode             conns  requests  errors  per second  p50 ms  p99 ms  max ms  CPU µs/req  vs cores×sign")
            for r in results {
                lines.append(String(format: "%-16@ %5d  %8d  %6d  %10.0f  %6.2f  %6.2f  %6.1f  %10.1f  %12.1f%%",
                                    r.mode as NSString, r.connections, r.requests, r.errors, r.perSecond, r.p50Milliseconds,
                                    r.p99Milliseconds, r.maxMilliseconds, r.cpuMicrosecondsPerRequest, 100 * r.perSecond / (Double(cores) * signing)))
                lines.append("                 results: " + r.resultCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            }
            lines.append("CPU µs/req counts the host and this driver together (one process). Batch \(batch), wait \(waitMicroseconds) µs.")
            return lines.joined(separator: "\n")
        }
    }
}
