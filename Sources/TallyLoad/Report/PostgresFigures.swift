/// What `tally bench --store postgresql://…` measured of this binary on the shared store, against its SQLite host of
/// the same run, with the targets.
public struct PostgresFigures: Sendable, Codable, Equatable {
    /// The database, as given.
    public var store: String
    public var connections: Int
    public var pacedFraction: Double
    /// This binary's SQLite host, keep-alive at `connections` (median over rounds).
    public var sqlite: LoadFigures?
    /// One host on the store, keep-alive at `connections`.
    public var one: LoadFigures?
    /// Two hosts on the store, driven together over `connections` (half each): their sum.
    public var two: LoadFigures?
    /// One host paced at `pacedFraction` of `one`'s rate of the same round.
    public var paced: LoadFigures?
    /// Every round of every PostgreSQL measure.
    public var runs: [LoadFigures]
    public var rows: [BenchRow]

    public init(store: String, connections: Int, pacedFraction: Double, sqlite: LoadFigures?, one: LoadFigures?, two: LoadFigures?,
                paced: LoadFigures?, runs: [LoadFigures]) {
        self.store = store
        self.connections = connections
        self.pacedFraction = pacedFraction
        self.sqlite = sqlite
        self.one = one
        self.two = two
        self.paced = paced
        self.runs = runs
        rows = []
        rows = rowsOfFigures()
    }

    /// One value per row (this binary); a ratio row names its target.
    func rowsOfFigures() -> [BenchRow] {
        var rows: [BenchRow] = []
        func add(_ measure: String, _ unit: String, _ value: Double?) {
            if let value { rows.append(BenchRow(measure, unit, [value])) }
        }
        func ratio(_ top: Double?, _ bottom: Double?) -> Double? {
            guard let top, let bottom, bottom > 0 else { return nil }
            return top / bottom
        }
        let name = "keep-alive ×\(connections)"
        add("SQLite host, \(name): activations/s", "/s", sqlite?.activationsPerSecond)
        add("one PostgreSQL host, \(name): activations/s", "/s", one?.activationsPerSecond)
        add("one PostgreSQL host ÷ SQLite host (target ≥ 0.5)", "", ratio(one?.activationsPerSecond, sqlite?.activationsPerSecond))
        add("two PostgreSQL hosts together, \(name) shared out: activations/s", "/s", two?.activationsPerSecond)
        add("two PostgreSQL hosts together ÷ one (target ≥ 0.9)", "", ratio(two?.activationsPerSecond, one?.activationsPerSecond))
        let share = Int((pacedFraction * 100).rounded())
        add("one PostgreSQL host, paced at \(share) % of its maximum: rate asked", "/s", paced?.pacedRate)
        add("one PostgreSQL host, paced at \(share) % of its maximum: activations/s", "/s", paced?.activationsPerSecond)
        add("one PostgreSQL host, paced at \(share) % of its maximum: p99 from when due (target < 10)", "ms", paced?.p99Milliseconds)
        add("one PostgreSQL host, paced: p50 from when due", "ms", paced?.p50Milliseconds)
        add("one PostgreSQL host, paced: answers over 2 ms", "%", paced?.over2MillisecondsPercent)
        add("one PostgreSQL host, paced: the machine: 1 ms sleeps woken over 2 ms late", "", paced?.machine.map { Double($0.lateWakeups) })
        add("one PostgreSQL host, paced: the machine: the latest such wake-up, late by", "ms", paced?.machine?.longestLateMilliseconds)
        add("one PostgreSQL host, paced: the machine: steal time of its CPUs", "ms", paced?.machine?.stealMilliseconds)
        add("round trips to PostgreSQL per activation: one host", "", one?.storeRoundTripsPerGrant)
        add("round trips to PostgreSQL per activation: two hosts together", "", two?.storeRoundTripsPerGrant)
        add("round trips to PostgreSQL per activation: one host paced", "", paced?.storeRoundTripsPerGrant)
        add("one PostgreSQL host, \(name): p50", "ms", one?.p50Milliseconds)
        add("one PostgreSQL host, \(name): p99", "ms", one?.p99Milliseconds)
        add("two PostgreSQL hosts together: p99", "ms", two?.p99Milliseconds)
        add("SQLite host, \(name): host CPU per activation, until exit", "µs", sqlite?.hostCPUMicrosecondsPerGrant)
        add("one PostgreSQL host, \(name): host CPU per activation, until exit", "µs", one?.hostCPUMicrosecondsPerGrant)
        add("two PostgreSQL hosts together: hosts' CPU per activation, until exit", "µs", two?.hostCPUMicrosecondsPerGrant)
        add("one PostgreSQL host, \(name): host read+write calls per activation", "", one?.readWriteCallsPerGrant)
        add("one PostgreSQL host, \(name): load driver CPU per request", "µs", one?.driverCPUMicrosecondsPerRequest)
        return rows
    }

    /// Every run with errors, refusals or wrong counts, by round.
    public var problems: [String] {
        runs.flatMap { run in run.problems.map { "this \(run.label), round \(run.round + 1): \($0)" } }
    }
}
