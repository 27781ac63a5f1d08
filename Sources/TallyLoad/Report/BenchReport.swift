/// Everything one `tally bench` run measured, for each host binary, with the rows of its table.
public struct BenchReport: Sendable, Codable, Equatable {
    public var cores: Int
    /// Ed25519 signatures per second on one core, measured at the start and at the end of the run.
    public var signing: [Double]
    /// The better of the two: the figure activation rates are divided by (times the cores).
    public var signaturesPerSecondOneCore: Double
    public var secondsPerMode: Double
    public var rounds: Int
    /// Set when the hosts' state was kept.
    public var workDirectory: String?
    /// "this" first, then the baseline when there is one.
    public var hosts: [HostReport]
    /// The table: one figure per row, a value per host, and this ÷ baseline.
    public var rows: [BenchRow]
    /// Every problem of every host; a run with any is not to be trusted.
    public var problems: [String]
    /// This binary on a PostgreSQL store (`--store`).
    public var postgres: PostgresFigures?

    public init(cores: Int, signing: [Double], secondsPerMode: Double, rounds: Int, workDirectory: String?, hosts: [HostReport],
                postgres: PostgresFigures? = nil) {
        self.cores = cores
        self.signing = signing
        signaturesPerSecondOneCore = signing.max() ?? 0
        self.secondsPerMode = secondsPerMode
        self.rounds = rounds
        self.workDirectory = workDirectory
        self.hosts = hosts
        rows = []
        self.postgres = postgres
        problems = hosts.flatMap(\.problems) + (postgres?.problems ?? [])
        rows = BenchRow.rows(of: self)
    }
}

/// One figure of the report's table.
public struct BenchRow: Sendable, Codable, Equatable {
    /// What is measured, e.g. "keep-alive ×16: host CPU per activation (until exit)".
    public var measure: String
    /// "/s", "ms", "µs", "B", "MB", "s", "%", or "" for a count.
    public var unit: String
    /// One value per host, in the report's order; `nil` when that host has no such figure.
    public var values: [Double?]
    /// this ÷ baseline, when both are there and the baseline is not zero.
    public var ratio: Double?

    public init(_ measure: String, _ unit: String, _ values: [Double?]) {
        self.measure = measure
        self.unit = unit
        self.values = values
        if values.count > 1, let this = values[0], let baseline = values[1], baseline != 0 { ratio = this / baseline }
    }
}
