/// The hosts of one `tally bench` run and what has been measured of them so far. Each measure runs on both
/// hosts in turn, the order alternating from one measure to the next (AB, BA, …), so neither always goes first.
final class BenchRun {
    let configuration: BenchConfiguration
    let hosts: [BenchHost]
    let progress: (String) -> Void
    var reports: [HostReport]
    /// Every round of the PostgreSQL measures (`--store`), this binary's.
    var postgresRuns: [LoadFigures] = []
    var turn = 0
    /// Each host's keep-alive rate at the paced run's connection count, in the current round.
    var maxima: [Double]

    init(_ configuration: BenchConfiguration, work: String, progress: @escaping (String) -> Void) {
        self.configuration = configuration
        self.progress = progress
        var hosts = [BenchHost(label: "this", binary: configuration.binary, root: work + "/this", threads: configuration.hostThreads)]
        if let baseline = configuration.baseline {
            hosts.append(BenchHost(label: "baseline", binary: baseline, root: work + "/baseline", threads: configuration.hostThreads))
        }
        self.hosts = hosts
        reports = hosts.map {
            HostReport(label: $0.label, binary: $0.binary, protocolVersion: 0, knownClientsAfterSetup: 0, wire: nil, load: [], paced: nil,
                       idle: nil, scale: [], profile: nil, runs: [], problems: [])
        }
        maxima = hosts.map { _ in 0 }
    }

    var pacedConnections: Int { configuration.connections.max() ?? 16 }

    /// Both hosts, the order alternating with each call.
    func each(_ body: (Int, BenchHost) throws(BenchError) -> Void) throws(BenchError) {
        turn += 1
        let order = turn % 2 == 1 ? Array(hosts.indices) : Array(hosts.indices.reversed())
        for index in order { try body(index, hosts[index]) }
    }

    /// Each host's state made by its own CLI, its template past the threshold, its answer sizes.
    func setUp() throws(BenchError) {
        for (index, host) in hosts.enumerated() {
            progress("\(host.label): setting up \(host.binary) with its own CLI")
            try host.setUp(settings: index == 0 ? configuration.hostSettings : [])
            try host.prepareTemplate()
            reports[index].protocolVersion = host.protocolVersion
            reports[index].knownClientsAfterSetup = host.known
            reports[index].wire = host.wire
        }
    }

    func idle() throws(BenchError) {
        try each { index, host throws(BenchError) in
            progress("\(host.label): idle RSS")
            reports[index].idle = try host.idle(keep: configuration.keep)
        }
    }

    /// Every mode and connection count; with only the paced measure, the keep-alive run it is paced from.
    func load(round: Int) throws(BenchError) {
        var modes = configuration.keepAlive.flatMap { keepAlive in configuration.connections.map { (keepAlive, $0) } }
        let pacedFrom = (true, pacedConnections)
        // The SQLite host's keep-alive run at the most connections is also what a PostgreSQL host is compared with.
        let needsPacedFrom = configuration.measures.contains(.paced) || configuration.store != nil
        if needsPacedFrom, !modes.contains(where: { $0 == pacedFrom }) { modes.append(pacedFrom) }
        for (keepAlive, connections) in modes where configuration.measures.contains(.load) || (keepAlive, connections) == pacedFrom {
            try each { index, host throws(BenchError) in
                progress("\(host.label): \(keepAlive ? "keep-alive" : "new connection") ×\(connections), round \(round + 1)")
                let figures = try host.load(keepAlive: keepAlive, connections: connections, seconds: configuration.seconds, rate: nil,
                                            warmupPerConnection: configuration.warmupPerConnection, round: round, keep: configuration.keep)
                reports[index].runs.append(figures)
                if (keepAlive, connections) == pacedFrom { maxima[index] = figures.activationsPerSecond }
            }
        }
    }

    /// Keep-alive at the most connections, at a fraction of that host's own maximum of this round.
    func paced(round: Int) throws(BenchError) {
        try each { index, host throws(BenchError) in
            let rate = max(1, maxima[index] * configuration.pacedFraction)
            progress("\(host.label): keep-alive ×\(pacedConnections) paced at \(Int(rate))/s, round \(round + 1)")
            reports[index].runs.append(try host.load(keepAlive: true, connections: pacedConnections, seconds: configuration.seconds, rate: rate,
                                                     warmupPerConnection: configuration.warmupPerConnection, round: round,
                                                     keep: configuration.keep))
        }
    }

    /// The median over rounds of each load mode, and of the paced run.
    func summarize() {
        for index in reports.indices {
            var groups: [String: [LoadFigures]] = [:]
            var order: [String] = []
            for run in reports[index].runs {
                let key = "\(run.mode) \(run.connections) \(run.pacedRate == nil)"
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(run)
            }
            for key in order {
                let median = LoadFigures.median(groups[key]!)
                if median.pacedRate != nil {
                    reports[index].paced = median
                } else if configuration.measures.contains(.load) {
                    reports[index].load.append(median)
                }
            }
        }
    }

    /// One more keep-alive run at the most connections, under perf.
    func profile(perf: String) throws(BenchError) {
        try each { index, host throws(BenchError) in
            progress("\(host.label): keep-alive ×\(pacedConnections) under perf record")
            _ = try host.load(keepAlive: true, connections: pacedConnections, seconds: configuration.seconds, rate: nil,
                              warmupPerConnection: configuration.warmupPerConnection, round: 0, keep: configuration.keep,
                              profile: perf) { self.reports[index].profile = $0 }
        }
    }

    func scale() throws(BenchError) {
        for clients in configuration.scale {
            try each { index, host throws(BenchError) in
                progress("\(host.label): host fill with \(clients) clients, then start")
                reports[index].scale.append(try host.scale(clients: clients, keep: configuration.keep))
            }
        }
    }
}
