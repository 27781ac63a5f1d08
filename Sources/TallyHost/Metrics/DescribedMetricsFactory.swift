import CoreMetrics
import Foundation
import Prometheus

/// A swift-metrics factory over a Prometheus registry that gives every metric its `# HELP` line.
///
/// swift-prometheus's own `PrometheusMetricsFactory` makes every metric with an empty help text, and the registry
/// refuses a second help text for a name it has seen; so this factory makes each metric through the registry with
/// the help of ``HostMetrics/families``, and the buckets given per name. A name missing from the table gets no help
/// line, which the test that runs `promtool check metrics` against a live host reports.
struct DescribedMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// Help text per metric name.
    let help: [String: String]
    let durationBuckets: [String: [Duration]]
    let valueBuckets: [String: [Double]]
    /// Labels every series carries (the host's id: hosts sharing a store are told apart on one dashboard).
    let constantLabels: [(String, String)]

    /// The registry's defaults, for a histogram made without buckets of its own.
    static let defaultDurationBuckets: [Duration] = [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)]
    static let defaultValueBuckets: [Double] = [1, 10, 100, 1000, 10_000]

    /// The metric's name with its help text (none when the table has no entry).
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    private func labels(_ dimensions: [(String, String)]) -> [(String, String)] {
        constantLabels + dimensions
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: labels(dimensions))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: labels(dimensions))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: labels(dimensions)) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: labels(dimensions),
                                           buckets: valueBuckets[label] ?? Self.defaultValueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: labels(dimensions))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: labels(dimensions),
                                       buckets: durationBuckets[label] ?? Self.defaultDurationBuckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge {
            registry.unregisterGauge(gauge)
        } else if let histogram = handler as? ValueHistogram {
            registry.unregisterValueHistogram(histogram)
        }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
