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
    public func run(progress: (String) -> Void) throws(BenchError) -> BenchReport {
        let configuration = self.configuration
        let work = configuration.workDirectory ?? (FileManager.default.temporaryDirectory.path + "/tally-bench-\(UUID().uuidString)")
        defer { if !configuration.keep, configuration.workDirectory == nil { try? FileManager.default.removeItem(atPath: work) } }
        var hosts = [BenchHost(label: "this", binary: configuration.binary, root: work + "/this", threads: configuration.hostThreads)]
        if let baseline = configuration.baseline {
            hosts.append(BenchHost(label: "baseline", binary: baseline, root: work + "/baseline", threads: configuration.hostThreads))
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var reports = hosts.map {
            HostReport(label: $0.label, binary: $0.binary, protocolVersion: 0, knownClientsAfterSetup: 0, wire: nil, load: [], paced: nil,
                       idle: nil, scale: [], profile: nil, runs: [], problems: [])
        }
        for (index, host) in hosts.enumerated() {
            progress("\(host.label): setting up \(host.binary) with its own CLI")
            try host.setUp(settings: index == 0 ? configuration.hostSettings : [])
            try host.prepareTemplate()
            reports[index].protocolVersion = host.protocolVersion
            reports[index].knownClientsAfterSetup = host.known
            reports[index].wire = host.wire
        }
        var signing = [SigningRate.measure(seconds: 1)]

        /// Both hosts in turn, the order alternating with `turn` so neither always goes first.
        func each(_ turn: Int, _ body: (Int, BenchHost) throws(BenchError) -> Void) throws(BenchError) {
            let order = turn % 2 == 0 ? Array(hosts.indices) : Array(hosts.indices.reversed())
            for index in order { try body(index, hosts[index]) }
        }

        if configuration.measures.contains(.idle) {
            try each(0) { index, host throws(BenchError) in
                progress("\(host.label): idle RSS")
                reports[index].idle = try host.idle(keep: configuration.keep)
            }
        }
        let modes = configuration.keepAlive.flatMap { keepAlive in configuration.connections.map { (keepAlive, $0) } }
        let pacedConnections = configuration.connections.max() ?? 16
        var turn = 0
        for round in 0..<max(1, configuration.rounds) {
            var maxima = [Double](repeating: 0, count: hosts.count)
            if configuration.measures.contains(.load) || configuration.measures.contains(.paced) {
                for (keepAlive, connections) in modes {
                    // The paced run needs the keep-alive maximum at its connection count, even when load is not asked for.
                    guard configuration.measures.contains(.load) || (keepAlive && connections == pacedConnections) else { continue }
                    turn += 1
                    try each(turn) { index, host throws(BenchError) in
                        progress("\(host.label): \(keepAlive ? "keep-alive" : "new connection") ×\(connections), round \(round + 1)")
                        let figures = try host.load(keepAlive: keepAlive, connections: connections, seconds: configuration.seconds, rate: nil,
                                                    warmupPerConnection: configuration.warmupPerConnection, round: round,
                                                    keep: configuration.keep)
                        reports[index].runs.append(figures)
                        if keepAlive, connections == pacedConnections { maxima[index] = figures.activationsPerSecond }
                    }
                }
            }
            if configuration.measures.contains(.paced) {
                turn += 1
                try each(turn) { index, host throws(BenchError) in
                    let rate = max(1, maxima[index] * configuration.pacedFraction)
                    progress("\(host.label): keep-alive ×\(pacedConnections) paced at \(Int(rate))/s, round \(round + 1)")
                    var figures = try host.load(keepAlive: true, connections: pacedConnections, seconds: configuration.seconds, rate: rate,
                                                warmupPerConnection: configuration.warmupPerConnection, round: round,
                                                keep: configuration.keep)
                    figures.mode = "keep-alive"
                    reports[index].runs.append(figures)
                }
            }
        }
        for index in reports.indices {
            let runs = reports[index].runs
            var groups: [String: [LoadFigures]] = [:]
            var order: [String] = []
            for run in runs {
                let key = "\(run.mode) \(run.connections) \(run.pacedRate == nil)"
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(run)
            }
            for key in order {
                let median = LoadFigures.median(groups[key]!)
                if median.pacedRate != nil { reports[index].paced = median } else if configuration.measures.contains(.load) { reports[index].load.append(median) }
            }
        }
        if configuration.measures.contains(.profile) {
            let perf = try Self.findPerf()
            turn += 1
            try each(turn) { index, host throws(BenchError) in
                progress("\(host.label): keep-alive ×\(pacedConnections) under perf record")
                _ = try host.load(keepAlive: true, connections: pacedConnections, seconds: configuration.seconds, rate: nil,
                                  warmupPerConnection: configuration.warmupPerConnection, round: 0, keep: configuration.keep,
                                  profile: perf) { reports[index].profile = $0 }
            }
        }
        if configuration.measures.contains(.scale) {
            for clients in configuration.scale {
                turn += 1
                try each(turn) { index, host throws(BenchError) in
                    progress("\(host.label): host fill with \(clients) clients, then start")
                    reports[index].scale.append(try host.scale(clients: clients, keep: configuration.keep))
                }
            }
        }
        signing.append(SigningRate.measure(seconds: 1))
        for index in reports.indices { reports[index].problems = Self.problems(of: reports[index]) }
        return BenchReport(cores: cores, signing: signing, secondsPerMode: configuration.seconds, rounds: max(1, configuration.rounds),
                           workDirectory: configuration.keep ? work : nil, hosts: reports)
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
