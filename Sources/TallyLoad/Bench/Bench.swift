import Foundation

/// `tally bench`: sets up each host binary with its own CLI, then runs the chosen measures on each, alternating
/// between the binaries mode by mode so both see the same machine, and reports every figure of both with
/// their ratio.
public struct Bench {
    public var configuration: BenchConfiguration

    public init(_ configuration: BenchConfiguration) {
        self.configuration = configuration
    }

    /// Runs everything; `progress` gets a line per step (the CLI prints them on stderr).
    public func run(progress: @escaping (String) -> Void) throws(BenchError) -> BenchReport {
        let work = configuration.workDirectory ?? (FileManager.default.temporaryDirectory.path + "/tally-bench-\(UUID().uuidString)")
        defer { if !configuration.keep, configuration.workDirectory == nil { try? FileManager.default.removeItem(atPath: work) } }
        let run = BenchRun(configuration, work: work, progress: progress)
        try run.setUp()
        let signingAtStart = SigningRate.measure(seconds: 1)
        let measures = configuration.measures
        if measures.contains(.idle) { try run.idle() }
        for round in 0..<max(1, configuration.rounds) {
            if measures.contains(.load) || measures.contains(.paced) || configuration.store != nil { try run.load(round: round) }
            if measures.contains(.paced) { try run.paced(round: round) }
            if configuration.store != nil { try run.postgres(round: round) }
        }
        run.summarize()
        if measures.contains(.profile) { try run.profile(perf: try Self.findPerf()) }
        if measures.contains(.scale) { try run.scale() }
        let signingAtEnd = SigningRate.measure(seconds: 1)
        for index in run.reports.indices { run.reports[index].problems = Self.problems(of: run.reports[index]) }
        return BenchReport(cores: ProcessInfo.processInfo.activeProcessorCount, signing: [signingAtStart, signingAtEnd],
                           secondsPerMode: configuration.seconds, rounds: max(1, configuration.rounds),
                           workDirectory: configuration.keep ? work : nil, hosts: run.reports, postgres: run.postgresFigures())
    }

    /// perf, from PATH.
    static func findPerf() throws(BenchError) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/perf") {
            return "\(directory)/perf"
        }
        throw BenchError("--measures profile needs perf on PATH (Debian: apt-get install linux-perf)")
    }

    /// What makes a host's figures suspect: load runs with errors or miscounts, a wrong count at start, no
    /// bytes written (a work directory on tmpfs counts none).
    static func problems(of report: HostReport) -> [String] {
        var problems: [String] = []
        for run in report.runs {
            for problem in run.problems { problems.append("\(report.label) \(run.label), round \(run.round + 1): \(problem)") }
            if run.grants > 0, run.writeBytesPerGrant == 0 {
                problems.append("\(report.label) \(run.label): no bytes written to disk; is the work directory on tmpfs?")
            }
        }
        for scale in report.scale where scale.countCheck != "ok" {
            problems.append("\(report.label) start with \(scale.clients) clients: \(scale.countCheck)")
        }
        return problems
    }
}
