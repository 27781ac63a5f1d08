/// What `tally bench` runs. Every field has a default: a full comparison is `BenchConfiguration(baseline: path)`.
public struct BenchConfiguration: Sendable {
    /// The measures that can be chosen; the answer sizes are measured whatever is chosen (they come from setting
    /// up each host).
    public enum Measure: String, Sendable, CaseIterable {
        /// Activations/s, latency, CPU and disk per grant for each mode and connection count.
        case load
        /// Keep-alive at the most connections, paced at a fraction of that mode's maximum.
        case paced
        /// RSS of a started, idle host, with its smaps breakdown.
        case idle
        /// Start-up over a store filled with many known clients.
        case scale
        /// One more keep-alive run at the most connections under `perf record -g`, grouped by where the host's CPU
        /// went (not chosen by default: perf's overhead, and perf must be installed).
        case profile
    }

    /// The running binary's path.
    public var binary: String
    /// A second host binary measured in the same run, interleaved with this one.
    public var baseline: String?
    /// Seconds of load per mode.
    public var seconds: Double = 5
    /// Connection counts, each run in each mode.
    public var connections: [Int] = [1, 4, 16]
    /// Keep-alive (`true`) and one connection per request (`false`).
    public var keepAlive: [Bool] = [true, false]
    public var measures: Set<Measure> = [.load, .paced, .idle, .scale]
    /// The paced run's rate, as a fraction of the keep-alive maximum at the most connections.
    public var pacedFraction: Double = 0.5
    /// Known clients for the start-up measure, one start per number.
    public var scale: [Int] = [1_000_000]
    /// Each load mode runs this many times per host; the report shows the median.
    public var rounds: Int = 1
    /// Requests per connection sent before a load's measurements start (at least 16 in all).
    public var warmupPerConnection: Int = 2
    /// Where the hosts' state goes (it must be on a disk, not tmpfs, for write bytes to count); a new temporary
    /// directory when `nil`.
    public var workDirectory: String?
    /// Keep the work directory afterwards.
    public var keep = false
    /// `host serve --threads`, when set (else each host's default).
    public var hostThreads: Int?
    /// `host set NAME VALUE` applied to this binary's host only (the baseline's settings may differ).
    public var hostSettings: [(String, String)] = []

    /// A PostgreSQL database the bench owns (`--store postgresql://USER@HOST:PORT/DB`): in each round, after this
    /// binary's SQLite host, one host of this binary on it, two driven together, and one paced; `emptyStore` drops
    /// and makes again its schema before each set of hosts is started on it.
    public var store: String?
    public var emptyStore: (@Sendable () throws -> Void)?

    public init(binary: String, baseline: String? = nil) {
        self.binary = binary
        self.baseline = baseline
    }
}
