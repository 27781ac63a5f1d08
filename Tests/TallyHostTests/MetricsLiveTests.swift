import Foundation
import Testing
import TallyCore
import TallyHost
import TallyStore
import TallyTestSupport

/// `/metrics` read by the Prometheus project's own Python client parser (prometheus_client from PyPI).
@Suite("Metrics: Prometheus text parsed by prometheus_client", .serialized)
struct MetricsLiveTests {
    struct Sample: Decodable {
        var family: String
        var type: String
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static func parse(_ text: String) throws -> [Sample] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/parse_metrics.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AdminHTTP.Failure(description: "prometheus_client could not parse /metrics (install it: pip install prometheus-client): \(problem)")
        }
        return try JSONDecoder().decode([Sample].self, from: data)
    }

    @Test("requests by result, count and required count per class, latency and batch-size histograms, DNS outcomes")
    func metrics() async throws {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<4 { _ = try host.activate(LiveHost.Machine()) }
        for _ in 0..<5 { _ = try host.activate(LiveHost.Machine(), sku: "studio-server") }
        _ = try host.activate(LiveHost.Machine(), sku: "not-in-the-certificate")
        host.runtime.metrics.recordDNSPublish(domain: "example.test", succeeded: true)
        host.runtime.metrics.recordDNSPublish(domain: "example.test", succeeded: false)
        host.runtime.metrics.recordDNSPublish(domain: "example.test", succeeded: false)

        let response = try AdminHTTP.request("/metrics", port: host.adminPort)
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let samples = try Self.parse(response.text)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("tally_requests_total", ["result": "0xC004F038"]) == 8)
        #expect(value("tally_requests_total", ["result": "0x00000000"]) == 1)
        #expect(value("tally_requests_total", ["result": "0xC004F042"]) == 1)
        #expect(value("tally_count", ["class": "client"]) == 4)
        #expect(value("tally_required_count", ["class": "client"]) == 25)
        #expect(value("tally_count", ["class": "server"]) == 5)
        #expect(value("tally_required_count", ["class": "server"]) == 5)
        #expect(samples.first { $0.name == "tally_activation_latency_seconds_count" }?.value == 10)
        #expect(samples.first { $0.family == "tally_activation_latency_seconds" }?.type == "histogram")
        #expect(value("tally_activation_latency_seconds_bucket", ["le": "+Inf"]) == 10)
        // One request at a time over new connections: ten batches, each of one request.
        #expect(value("tally_group_commit_batch_size_count") == 10)
        #expect(value("tally_group_commit_batch_size_bucket", ["le": "1.0"]) == 10)
        #expect(value("tally_dns_publish_total", ["domain": "example.test", "outcome": "success"]) == 1)
        #expect(value("tally_dns_publish_total", ["domain": "example.test", "outcome": "failure"]) == 2)
        #expect((value("tally_certificate_expiry_timestamp_seconds") ?? 0) > host.clock.now().timeIntervalSince1970)
    }
}
