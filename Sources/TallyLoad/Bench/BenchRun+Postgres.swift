extension BenchRun {
    /// The PostgreSQL measures of one round (`--store`), on this binary, after its SQLite host's keep-alive run at
    /// the most connections: one host at that many connections, two hosts driven together over the same
    /// connections (half each), and one host paced at a fraction of the first one's rate. Each starts on an
    /// emptied schema with the template's clients copied in.
    func postgres(round: Int) throws(BenchError) {
        guard let store = configuration.store, let empty = configuration.emptyStore else { return }
        let host = hosts[0]
        let connections = pacedConnections
        func run(hosts count: Int, rate: Double?) throws(BenchError) -> LoadFigures {
            try host.postgresLoad(hosts: count, connections: connections, seconds: configuration.seconds, rate: rate,
                                  warmupPerConnection: configuration.warmupPerConnection, round: round, keep: configuration.keep,
                                  store: store, empty: empty)
        }
        progress("\(host.label) on PostgreSQL: one host, keep-alive ×\(connections), round \(round + 1)")
        let one = try run(hosts: 1, rate: nil)
        postgresRuns.append(one)
        progress("\(host.label) on PostgreSQL: two hosts together, keep-alive ×\(connections) shared out, round \(round + 1)")
        postgresRuns.append(try run(hosts: 2, rate: nil))
        let rate = max(1, one.activationsPerSecond * configuration.pacedFraction)
        progress("\(host.label) on PostgreSQL: one host, keep-alive ×\(connections) paced at \(Int(rate))/s, round \(round + 1)")
        postgresRuns.append(try run(hosts: 1, rate: rate))
    }

    /// The medians over rounds, with this binary's SQLite host's keep-alive run at the same connections.
    func postgresFigures() -> PostgresFigures? {
        guard let store = configuration.store else { return nil }
        func median(_ runs: [LoadFigures]) -> LoadFigures? { runs.isEmpty ? nil : LoadFigures.median(runs) }
        let sqlite = reports[0].runs.filter { $0.mode == "keep-alive" && $0.connections == pacedConnections && $0.pacedRate == nil }
        return PostgresFigures(store: store, connections: pacedConnections, pacedFraction: configuration.pacedFraction, sqlite: median(sqlite),
                               one: median(postgresRuns.filter { $0.hosts == 1 && $0.pacedRate == nil }),
                               two: median(postgresRuns.filter { $0.hosts == 2 }),
                               paced: median(postgresRuns.filter { $0.pacedRate != nil }), runs: postgresRuns)
    }
}
