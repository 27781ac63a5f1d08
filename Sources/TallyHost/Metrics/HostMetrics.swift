import CoreMetrics
import Foundation
import Metrics
import NIOConcurrencyHelpers
import Prometheus
import TallyStore
import TallyCore

/// The host's Prometheus metrics, made through swift-metrics with a factory of this host's own (not the
/// process-wide `MetricsSystem`), so several hosts in one test process never share numbers, and every metric has
/// the help text of ``families`` (`# HELP` on `/metrics`).
public final class HostMetrics: ActivationObserver, Sendable {
    public let registry: PrometheusCollectorRegistry
    /// The `host` label of every series (`nil`: none).
    let hostID: String?
    let factory: DescribedMetricsFactory
    private let latency: CoreMetrics.Timer
    private let batchSize: CoreMetrics.Recorder
    private let clones: CoreMetrics.Counter
    private let requests = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])
    private let dnsOutcomes = NIOLockedValueBox<[String: CoreMetrics.Counter]>([:])
    private let gauges = NIOLockedValueBox<[String: CoreMetrics.Gauge]>([:])

    /// Every metric the host exports: name, Prometheus type, labels and the help text of its `# HELP` line.
    /// README's table and the Grafana dashboard (`packaging/grafana/`) are over these; a test checks both
    /// against a live host's `/metrics`.
    public static let families: [(name: String, type: String, labels: [String], help: String)] = [
        ("tally_requests_total", "counter", ["result"],
         "Activation requests answered, by result code (hex, e.g. 0xC004F038), or store-unavailable when the store could not commit."),
        ("tally_machines_counted", "gauge", ["class"],
         "Distinct machines (CMIDs) that asked in the last 30 days, per product class: the KMS current count."),
        ("tally_machines_required", "gauge", ["class"],
         "Machines a product class needs before clients of it are activated (its threshold, from the host certificate)."),
        ("tally_activation_latency_seconds", "histogram", [],
         "Time from a request reaching the activation service to its answer being committed, in seconds."),
        ("tally_group_commit_batch_size", "histogram", [],
         "Requests committed together in one store transaction (group commit)."),
        ("tally_dns_publish_total", "counter", ["domain", "outcome"],
         "Attempts to publish or remove this host's SRV record, per publish-list domain and outcome (success: event 12294, failure: 12293)."),
        ("tally_cloned_images_total", "counter", [],
         "Cloned images detected: one CMID seen on machines with different fingerprints (event 12300)."),
        ("tally_certificate_expiry_timestamp_seconds", "gauge", [],
         "When the host certificate expires, as a Unix time in seconds."),
        ("tally_new_machines_today", "gauge", [],
         "Machines new to the host today (UTC): CMIDs counted for the first time in a class."),
        ("tally_new_machines_busiest_share", "gauge", [],
         "Share (0 to 1) of today's new machines that came from the 10 busiest address blocks (IPv6 per /64); near 1 with many new machines, few addresses invent CMIDs."),
    ]

    /// The label every series of a host carries: its host id.
    public static let hostLabel = "host"

    /// Families only a host on a shared store exports (not in ``families``, which every host exports).
    public static let sharedStoreFamilies: [(name: String, type: String, labels: [String], help: String)] = [
        ("tally_store_round_trips_total", "counter", [],
         "Round trips to the PostgreSQL store (each query sent and answered; session startups included) since the host started."),
    ]

    public static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10_000]
    public static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// Every series carries `host="HOST-ID"` when `hostID` is given, so the hosts of one site, which share one
    /// count, are told apart (the `host` label of ``labels``).
    public init(hostID: String? = nil) {
        self.hostID = hostID
        registry = PrometheusCollectorRegistry()
        factory = DescribedMetricsFactory(registry: registry,
                                          help: Dictionary(uniqueKeysWithValues: HostMetrics.families.map { ($0.name, $0.help) }),
                                          durationBuckets: ["tally_activation_latency_seconds": HostMetrics.latencyBuckets],
                                          valueBuckets: ["tally_group_commit_batch_size": HostMetrics.batchSizeBuckets],
                                          constantLabels: hostID.map { [(HostMetrics.hostLabel, $0)] } ?? [])
        latency = CoreMetrics.Timer(label: "tally_activation_latency_seconds", factory: factory)
        batchSize = CoreMetrics.Recorder(label: "tally_group_commit_batch_size", aggregate: true, factory: factory)
        clones = CoreMetrics.Counter(label: "tally_cloned_images_total", factory: factory)
    }

    public func observe(_ batch: ObservedBatch) {
        batchSize.record(batch.size)
        for (index, waited) in batch.latencies.enumerated() {
            latency.recordNanoseconds(waited.nanoseconds)
            request(result: batch.decisions.map { $0[index].decision.code.hex } ?? "store-unavailable").increment()
        }
    }

    private func request(result: String) -> CoreMetrics.Counter {
        requests.withLockedValue { counters in
            if let counter = counters[result] { return counter }
            let counter = CoreMetrics.Counter(label: "tally_requests_total", dimensions: [("result", result)], factory: factory)
            counters[result] = counter
            return counter
        }
    }

    /// The hook for DNS publishing: one call per domain and attempt (events 12294 / 12293).
    public func recordDNSPublish(domain: String, succeeded: Bool) {
        let outcome = succeeded ? "success" : "failure"
        dnsOutcomes.withLockedValue { counters in
            let key = domain + "\u{0}" + outcome
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: "tally_dns_publish_total", dimensions: [("domain", domain), ("outcome", outcome)], factory: factory)
            counters[key] = counter
            return counter
        }.increment()
    }

    /// One cloned image reported (event 12300).
    public func recordClone() { clones.increment() }

    private func gauge(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        gauges.withLockedValue { gauges in
            let key = name + dimensions.map { "\u{0}\($0.0)=\($0.1)" }.joined()
            if let gauge = gauges[key] { return gauge }
            let gauge = CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
            gauges[key] = gauge
            return gauge
        }
    }

    /// The Prometheus text, with the count gauges read now.
    /// `storeRoundTrips`: the store's ``HostStore/roundTrips``, exported as `tally_store_round_trips_total` when it has any.
    public func exposition(counts: [String: (current: Int, required: Int)], certificateExpires: Date?, newMachines: DailyNewMachines? = nil,
                           storeRoundTrips: Int? = nil) -> String {
        gauge("tally_new_machines_today", []).record(newMachines?.machines ?? 0)
        gauge("tally_new_machines_busiest_share", []).record(newMachines?.busiestShare ?? 0)
        for (productClass, count) in counts {
            gauge("tally_machines_counted", [("class", productClass)]).record(count.current)
            gauge("tally_machines_required", [("class", productClass)]).record(count.required)
        }
        if let certificateExpires {
            gauge("tally_certificate_expiry_timestamp_seconds", []).record(certificateExpires.timeIntervalSince1970)
        }
        var text = registry.emitToString()
        if let storeRoundTrips, let family = Self.sharedStoreFamilies.first {
            // The store keeps the total itself: written as it is, not through a counter of the registry.
            let labels = hostID.map { "{\(Self.hostLabel)=\"\($0)\"}" } ?? ""
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) counter\n\(family.name)\(labels) \(storeRoundTrips)\n"
        }
        return text
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
