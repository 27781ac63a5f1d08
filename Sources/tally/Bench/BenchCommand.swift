import ArgumentParser
import Foundation
import TallyCore
import TallyLoad
import TallyStore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the host in its own process, and a second host binary in the same run (--baseline), with their ratio.",
        discussion: """
            Each host binary is set up by its own CLI (vendor init, host install-key, host activate, host set rate-limit 0, \
            host set dns-publishing off) in a temporary directory, passes the threshold, and is started as `host serve` \
            for each measure on a copy of that state. Load requests carry new CMIDs, so every measured answer is a grant. \
            The two binaries alternate mode by mode. Run a release build: swift build -c release --product tally.

            Figures, per host:
              activations/s            grants per second; also ÷ (cores × Ed25519 signatures/s on one core, measured in the run)
              p50, p99, max            latency of every answer (paced: from when the request was due)
              host CPU per activation  the host's user+system CPU from just before the load until it exited on SIGTERM
                                       (/proc/PID/stat, then wait4), ÷ grants; "during the load" stops at the last answer
              disk bytes written       write_bytes (/proc/PID/io, then wait4's ru_oublock × 512) over the same span ÷ grants
              read+write calls         the host's read/write system calls during the load ÷ grants
              load driver CPU          the driver's own thread CPU per request (it shares the cores with the host)
              wire                     a grant and a refusal (C004F038), HTTP included; "holding the certificate" sends hch,
                                       the base64url SHA-256 of the host's certificate (protocol 2; protocol 1 ignores it)
              idle RSS                 VmRSS one second after start, grouped from /proc/PID/smaps
              profile                  (--measures profile) one more keep-alive run under perf record -g: the host's samples
                                       grouped as signing, allocation, reference counting, locks, store, JSON, HTTP/NIO,
                                       kernel TCP, Swift runtime, Tally code (leaf first), and the top leaf symbols
              known clients            host fill's time; exec to listening; exec to the first grant whose count is exactly
                                       the known clients plus every counted request so far; RSS then

            With --store postgresql://USER@HOST:PORT/DB (the password from PGPASSWORD or ~/.pgpass), each round also runs \
            this binary on that PostgreSQL database, right after its SQLite host's keep-alive run at the most connections: \
            one host at those connections (÷ the SQLite host: target ≥ 0.5), two hosts sharing the store driven together \
            over the same connections, half each (÷ one host: target ≥ 0.9), and one host paced at --paced of its own \
            maximum (p99: target < 10 ms). Round trips to PostgreSQL per activation come from each host's \
            tally_store_round_trips_total on /metrics (admin port on 127.0.0.1), read just before and after the load: \
            every flush of a query to the server, session startups included. THE BENCH OWNS THAT DATABASE: before each \
            set of hosts it drops the schema `public` with everything in it and makes it again, then copies the template's \
            clients in (host store migrate). Give it a database of its own, never a site's.

            Any request without an answer, non-grant answer or wrong count is listed under PROBLEMS and the exit status is 1.
            """
    )
    @Option(help: "Another tally binary to measure in the same run (e.g. a release build of main).") var baseline: String?
    @Option(help: "Seconds of load per mode.") var seconds = 5.0
    @Option(help: "Connection counts, comma-separated.") var connections = "1,4,16"
    @Option(help: "Modes, comma-separated: keepalive, new.") var modes = "keepalive,new"
    @Option(help: "Measures, comma-separated: load, paced, idle, scale, profile (perf; not by default). Answer sizes are always measured.") var measures = "load,paced,idle,scale"
    @Option(help: "The paced run's rate as a fraction of the keep-alive maximum at the most connections.") var paced = 0.5
    @Option(help: "Known clients for the start-up measure, comma-separated (e.g. 1000000,3000000).") var scale = "1000000"
    @Option(help: "Runs of each load mode per host; the table shows the median.") var rounds = 1
    @Option(help: "Warm-up requests per connection before each load.") var warmup = 2
    @Option(help: "Directory for the hosts' state (a disk, not tmpfs; default: a new temporary directory).") var workDir: String?
    @Flag(help: "Keep the hosts' state afterwards.") var keep = false
    @Option(help: "host serve --threads for every host (default: each host's own default).") var hostThreads: Int?
    @Option(help: "NAME=VALUE: `tally host set NAME VALUE` on this binary's host only; repeatable.") var hostSetting: [String] = []
    @Option(help: "A PostgreSQL database of the bench's own, postgresql://USER@HOST:PORT/DB: also measure this binary on it. Its schema public is DROPPED and made again before each set of hosts.")
    var store: String?
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let configuration = try benchConfiguration()
            // Before anything is set up: an unreachable store is said at once.
            try configuration.emptyStore?()
            let report = try Bench(configuration).run { line in
                FileHandle.standardError.write(Data(("bench: " + line + "\n").utf8))
            }
            Output.emit(report, json: output.json) { report.text }
            if !report.problems.isEmpty { throw ExitCode(1) }
        }
    }

    func benchConfiguration() throws -> BenchConfiguration {
        func list(_ text: String, _ name: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        func numbers(_ text: String, _ name: String) throws -> [Int] {
            let values = list(text, name).map { Int($0.replacingOccurrences(of: "_", with: "")) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw TallyError(.usageError, "--\(name) takes positive whole numbers separated by commas, not \(text)")
            }
            return values.map { $0! }
        }
        var configuration = BenchConfiguration(binary: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path)
        if let baseline {
            guard FileManager.default.isExecutableFile(atPath: baseline) else {
                throw TallyError(.usageError, "--baseline \(baseline) is not an executable file")
            }
            configuration.baseline = URL(fileURLWithPath: baseline).standardizedFileURL.path
        }
        guard seconds > 0 else { throw TallyError(.usageError, "--seconds must be more than 0") }
        configuration.seconds = seconds
        configuration.connections = try numbers(connections, "connections")
        configuration.keepAlive = try list(modes, "modes").map { mode in
            switch mode {
            case "keepalive", "keep-alive": return true
            case "new", "new-connection": return false
            default: throw TallyError(.usageError, "--modes takes keepalive and new, not \(mode)")
            }
        }
        configuration.measures = Set(try list(measures, "measures").map { name in
            guard let measure = BenchConfiguration.Measure(rawValue: name) else {
                throw TallyError(.usageError, "--measures takes \(BenchConfiguration.Measure.allCases.map(\.rawValue).joined(separator: ", ")), not \(name)")
            }
            return measure
        })
        guard paced > 0, paced <= 1 else { throw TallyError(.usageError, "--paced must be a fraction above 0 and at most 1") }
        configuration.pacedFraction = paced
        configuration.scale = try numbers(scale, "scale")
        guard rounds >= 1 else { throw TallyError(.usageError, "--rounds must be at least 1") }
        configuration.rounds = rounds
        configuration.warmupPerConnection = max(0, warmup)
        configuration.workDirectory = workDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        configuration.keep = keep
        configuration.hostThreads = hostThreads
        configuration.hostSettings = try hostSetting.map { setting in
            guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
                throw TallyError(.usageError, "--host-setting takes NAME=VALUE, not \(setting)")
            }
            return (String(setting[..<equals]), String(setting[setting.index(after: equals)...]))
        }
        if let store {
            let url = try PostgresStoreURL(parsing: store)
            configuration.store = url.description
            configuration.emptyStore = {
                do {
                    try Self.blocking { try await PostgresScratchSchema.empty(url) }
                } catch let error as TallyError {
                    throw TallyError(error.code, "--store \(url): \(error.message)", remedy: error.remedy)
                }
            }
        }
        return configuration
    }

    /// Runs async work to its end from the bench's synchronous code.
    static func blocking(_ body: @escaping @Sendable () async throws -> Void) throws {
        final class Outcome: @unchecked Sendable { var error: (any Error)? }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await body() } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw error }
    }
}
