/// One load run against one host process, as the report shows it: rates, latencies, and the host's CPU and
/// disk bytes per granted activation, counted from the start of the load until the host exited on SIGTERM.
public struct LoadFigures: Sendable, Codable, Equatable {
    /// "keep-alive" or "new connection".
    public var mode: String
    public var connections: Int
    /// Paced runs: requests per second asked for.
    public var pacedRate: Double?
    /// Which round of the run (0-based); the median over rounds has the last.
    public var round: Int

    public var answers: Int
    public var grants: Int
    public var seconds: Double
    /// Grants per second.
    public var activationsPerSecond: Double
    public var p50Milliseconds: Double
    public var p99Milliseconds: Double
    public var maxMilliseconds: Double
    /// Host CPU (all threads) from the start of the load until it exited on SIGTERM, per grant.
    public var hostCPUMicrosecondsPerGrant: Double
    /// The same, counted only until the last answer (the difference is work the host did after the load).
    public var hostCPUMicrosecondsPerGrantDuringLoad: Double
    /// Bytes the host caused to be written to storage (write_bytes, page-granular) from the start of the load
    /// until it exited, per grant.
    public var writeBytesPerGrant: Double
    /// read- and write-like system calls of the host during the load (/proc/PID/io syscr + syscw), per grant.
    public var readWriteCallsPerGrant: Double
    /// CPU of the load driver's thread per answer.
    public var driverCPUMicrosecondsPerRequest: Double
    /// Its user-space part; the rest is the kernel's TCP work for the driver's side of each exchange.
    public var driverUserCPUMicrosecondsPerRequest: Double
    /// Seconds from SIGTERM to the host's exit.
    public var hostExitSeconds: Double
    /// The host's RSS at the end of the load, and its peak (ru_maxrss), in KiB.
    public var hostRSSKilobytesAfterLoad: Int
    public var hostPeakRSSKilobytes: Int

    /// Answers by HTTP status, HTTP 200 answers by result code and by format; requests without an answer by
    /// what went wrong.
    public var statuses: [String: Int]
    public var results: [String: Int]
    public var formats: [String: Int]
    public var errors: [String: Int]
    public var unreadable: Int
    /// "ok" when the grants' counts were exactly known+1 … known+grants, else what was wrong.
    public var countCheck: String
    /// On a PostgreSQL store (`tally bench --store`): the hosts driven together (the connections shared out among
    /// them; CPU, bytes and calls are their sums), and the store's round trips during the load ÷ grants, from each
    /// host's `tally_store_round_trips_total` read just before and just after the load.
    public var hosts: Int? = nil
    public var storeRoundTripsPerGrant: Double? = nil
    /// The share of answers that took more than 2 ms, in percent.
    public var over2MillisecondsPercent: Double? = nil
    /// The machine during the load: late wake-ups of a sleeping probe thread and steal time (``MachineStalls``).
    public var machine: MachineStalls? = nil
    /// Paced runs: the share of activations whose time in the host's commit pipeline (entry to commit, its
    /// `tally_activation_latency_seconds`) was over 2 ms and over 10 ms, in percent.
    public var hostOver2MillisecondsPercent: Double? = nil
    public var hostOver10MillisecondsPercent: Double? = nil

    /// The driver's view of the tail beside the latencies: answers over 2 ms and what the machine did.
    mutating func takeTail(of result: LoadResult) {
        over2MillisecondsPercent = 100 * Double(result.over2Milliseconds) / Double(max(result.answers, 1))
        machine = result.machine
    }

    public var label: String {
        (hosts.map { $0 == 1 ? "PostgreSQL, one host, " : "PostgreSQL, \($0) hosts together, " } ?? "")
            + mode + " ×\(connections)" + (pacedRate.map { " paced at \(Int($0.rounded()))/s" } ?? "")
    }

    /// Everything that makes the run's figures suspect, empty when none.
    public var problems: [String] {
        var problems: [String] = []
        let errorCount = errors.values.reduce(0, +)
        if errorCount > 0 { problems.append("\(errorCount) requests without an answer (\(Self.describe(errors)))") }
        let other = statuses.filter { $0.key != "200" }
        if !other.isEmpty { problems.append("HTTP \(Self.describe(other))") }
        let refused = results.filter { $0.key != "0x00000000" }
        if !refused.isEmpty { problems.append("answers that were not grants: \(Self.describe(refused))") }
        if unreadable > 0 { problems.append("\(unreadable) HTTP 200 answers without a readable result") }
        if countCheck != "ok" { problems.append("count check: \(countCheck)") }
        if grants == 0 { problems.append("no grants") }
        return problems
    }

    static func describe(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// The median of each figure over rounds (counts are summed), so one disturbed round does not decide.
    public static func median(_ runs: [LoadFigures]) -> LoadFigures {
        guard var result = runs.last, runs.count > 1 else { return runs[0] }
        func middle(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let figures: [WritableKeyPath<LoadFigures, Double>] = [
            \.seconds, \.activationsPerSecond, \.p50Milliseconds, \.p99Milliseconds, \.maxMilliseconds, \.hostCPUMicrosecondsPerGrant,
            \.hostCPUMicrosecondsPerGrantDuringLoad, \.writeBytesPerGrant, \.readWriteCallsPerGrant, \.driverCPUMicrosecondsPerRequest,
            \.driverUserCPUMicrosecondsPerRequest,
            \.hostExitSeconds,
        ]
        for figure in figures { result[keyPath: figure] = middle(runs.map { $0[keyPath: figure] }) }
        result.pacedRate = runs.compactMap(\.pacedRate).isEmpty ? nil : middle(runs.compactMap(\.pacedRate))
        result.storeRoundTripsPerGrant = runs.compactMap(\.storeRoundTripsPerGrant).isEmpty ? nil : middle(runs.compactMap(\.storeRoundTripsPerGrant))
        result.over2MillisecondsPercent = runs.compactMap(\.over2MillisecondsPercent).isEmpty ? nil : middle(runs.compactMap(\.over2MillisecondsPercent))
        result.hostOver2MillisecondsPercent = runs.compactMap(\.hostOver2MillisecondsPercent).isEmpty ? nil : middle(runs.compactMap(\.hostOver2MillisecondsPercent))
        result.hostOver10MillisecondsPercent = runs.compactMap(\.hostOver10MillisecondsPercent).isEmpty ? nil : middle(runs.compactMap(\.hostOver10MillisecondsPercent))
        // The machine of the round whose p99 is the median's (or nearest it): the stalls that came with that tail.
        let p99 = result.p99Milliseconds
        result.machine = runs.min { abs($0.p99Milliseconds - p99) < abs($1.p99Milliseconds - p99) }?.machine
        result.hostRSSKilobytesAfterLoad = Int(middle(runs.map { Double($0.hostRSSKilobytesAfterLoad) }))
        result.hostPeakRSSKilobytes = Int(middle(runs.map { Double($0.hostPeakRSSKilobytes) }))
        result.answers = runs.reduce(0) { $0 + $1.answers }
        result.grants = runs.reduce(0) { $0 + $1.grants }
        func sum(_ path: KeyPath<LoadFigures, [String: Int]>) -> [String: Int] {
            runs.reduce(into: [:]) { total, run in for (key, value) in run[keyPath: path] { total[key, default: 0] += value } }
        }
        result.statuses = sum(\.statuses)
        result.results = sum(\.results)
        result.formats = sum(\.formats)
        result.errors = sum(\.errors)
        result.unreadable = runs.reduce(0) { $0 + $1.unreadable }
        let checks = runs.enumerated().filter { $0.element.countCheck != "ok" }.map { "round \($0.offset + 1): \($0.element.countCheck)" }
        result.countCheck = checks.isEmpty ? "ok" : checks.joined(separator: "; ")
        return result
    }
}
