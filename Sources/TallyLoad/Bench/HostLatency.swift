import Foundation

/// The host's own view of a load's latency: `tally_activation_latency_seconds` on its `/metrics`, from a request
/// entering the commit pipeline to its decision being committed, read just before and just after the load. Beside
/// the driver's latencies it tells a tail the host's pipeline and store made from one made outside them (event
/// loops, the kernel, the driver, the machine).
struct HostLatency: Equatable {
    /// Cumulative bucket counts by upper bound in seconds, and the count of all.
    var buckets: [Double: Int]
    var count: Int

    /// The histogram summed over its series (a host labels them with its id), or `nil` without one.
    init?(prometheus text: String) {
        let name = "tally_activation_latency_seconds"
        var buckets: [Double: Int] = [:]
        var count: Int?
        for line in text.split(separator: "\n") {
            guard let value = line.split(separator: " ").last.flatMap({ Double($0) }).map({ Int($0) }) else { continue }
            if line.hasPrefix(name + "_bucket{"), let range = line.range(of: #"le=""#) {
                let bound = line[range.upperBound...].prefix { $0 != "\"" }
                guard let seconds = bound == "+Inf" ? Double.infinity : Double(bound) else { continue }
                buckets[seconds, default: 0] += value
            } else if line.hasPrefix(name + "_count ") || line.hasPrefix(name + "_count{") {
                count = (count ?? 0) + value
            }
        }
        guard let count, !buckets.isEmpty else { return nil }
        self.buckets = buckets
        self.count = count
    }

    init(buckets: [Double: Int], count: Int) {
        self.buckets = buckets
        self.count = count
    }

    /// The share of the activations between `before` and `after` that took longer than `bound` seconds (a
    /// bucket's bound), in percent; `nil` when none came or the bound is no bucket's.
    static func percentOver(_ bound: Double, from before: HostLatency, to after: HostLatency) -> Double? {
        let total = after.count - before.count
        guard total > 0, let within = after.buckets[bound], let withinBefore = before.buckets[bound] else { return nil }
        return 100 * Double(total - (within - withinBefore)) / Double(total)
    }
}

extension BenchHost {
    /// The host's latency histogram from its `/metrics`, or `nil` when it has no admin port or no histogram.
    func hostLatency(_ host: RunningHost) -> HostLatency? {
        metricsText(host).flatMap { HostLatency(prometheus: $0) }
    }
}
