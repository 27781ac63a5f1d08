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

    /// A live host's `/metrics` with every family present: activations of both classes, a refusal, DNS outcomes.
    static func liveExposition() async throws -> String {
        let host = try await LiveHost()
        defer { Task { await host.stop() } }
        for _ in 0..<2 { _ = try host.activate(LiveHost.Machine()) }
        _ = try host.activate(LiveHost.Machine(), sku: "studio-server")
        _ = try host.activate(LiveHost.Machine(), sku: "not-in-the-certificate")
        host.runtime.metrics.recordDNSPublish(domain: "example.test", succeeded: true)
        host.runtime.metrics.recordDNSPublish(domain: "example.test", succeeded: false)
        host.runtime.metrics.recordClone()
        let response = try AdminHTTP.request("/metrics", port: host.adminPort)
        #expect(response.status == 200)
        return response.text
    }

    /// `# TYPE name type` of every family in the exposition.
    static func families(_ text: String) -> [String: String] {
        var types: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
            let parts = line.split(separator: " ")
            if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
        }
        return types
    }

    @Test("promtool check metrics finds nothing to report, every family has a HELP line, and the families are the documented ones")
    func promtoolIsSatisfied() async throws {
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "scripts/test installs Debian's prometheus package (promtool)")
        let text = try await Self.liveExposition()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(report)")
        #expect(report.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(report)")

        let exported = Self.families(text)
        let helped = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") && $0.split(separator: " ").count > 3 }
            .map { String($0.split(separator: " ")[2]) })
        #expect(Set(exported.keys) == helped, "families without a HELP line: \(Set(exported.keys).subtracting(helped))")
        // The table README and the dashboard are written from: the same names and types as the host exports.
        #expect(exported == Dictionary(uniqueKeysWithValues: HostMetrics.families.map { ($0.name, $0.type) }))
    }

    @Test("the Grafana dashboard queries only metrics and labels a live host exports, and has the four panels it promises")
    func grafanaDashboardMatchesTheExport() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("packaging/grafana/tally-host.json")
        let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: path))
        // Every PromQL expression in the dashboard: panel targets and template variable queries.
        var expressions: [String] = []
        func collect(_ node: Any, key: String? = nil) {
            if let object = node as? [String: Any] {
                for (name, value) in object { collect(value, key: name) }
            } else if let array = node as? [Any] {
                for value in array { collect(value, key: key) }
            } else if let text = node as? String, ["expr", "query", "definition"].contains(key), text.contains("tally_") {
                expressions.append(text)
            }
        }
        collect(dashboard)
        #expect(expressions.count >= 8)

        let text = try await Self.liveExposition()
        let exported = Self.families(text)
        // The series names a query may use, with the labels each carries on /metrics.
        var series: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            var labels = series[name] ?? []
            if let open = line.firstIndex(of: "{"), let close = line.firstIndex(of: "}") {
                for pair in line[line.index(after: open)..<close].split(separator: ",") {
                    labels.insert(String(pair.prefix { $0 != "=" }))
                }
            }
            series[name] = labels
        }
        // The labels Prometheus adds when it scrapes.
        let scrapeLabels: Set<String> = ["instance", "job"]
        let names = try Regex(#"\btally_[a-z0-9_]+"#)
        let selector = try Regex(#"(tally_[a-z0-9_]+)\{([^}]*)\}"#)
        let grouping = try Regex(#"by \(([^)]*)\)"#)
        var used: Set<String> = []
        for expression in expressions {
            var referenced: Set<String> = []
            for match in expression.matches(of: names) {
                let name = String(expression[match.range])
                #expect(series[name] != nil, "\(name) in `\(expression)` is not on /metrics (exported: \(exported.keys.sorted()))")
                referenced.insert(name)
            }
            used.formUnion(referenced)
            for match in expression.matches(of: selector) {
                let name = String(match.output[1].substring ?? "")
                for pair in (match.output[2].substring ?? "").split(separator: ",") {
                    let label = String(pair.prefix { $0 != "=" && $0 != "!" }).trimmingCharacters(in: .whitespaces)
                    #expect(scrapeLabels.contains(label) || series[name]?.contains(label) == true, "label \(label) of \(name) in `\(expression)`")
                }
            }
            let available = referenced.reduce(into: scrapeLabels) { $0.formUnion(series[$1] ?? []) }
            for match in expression.matches(of: grouping) {
                for label in (match.output[1].substring ?? "").split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    #expect(available.contains(label), "grouping by \(label) in `\(expression)`")
                }
            }
        }
        // Count against threshold per class, activations by result, the latency histogram, DNS publish outcomes.
        for needed in ["tally_machines_counted", "tally_machines_required", "tally_requests_total", "tally_activation_latency_seconds_bucket",
                       "tally_dns_publish_total"] {
            #expect(used.contains(needed), "the dashboard does not show \(needed)")
        }
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
        // Every series carries the host's id.
        let hostID = try HostIdentity(directory: host.directory).info().hostID
        #expect(!samples.isEmpty && samples.allSatisfy { $0.labels[HostMetrics.hostLabel] == hostID })
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels.merging([HostMetrics.hostLabel: hostID]) { $1 } }?.value
        }
        #expect(value("tally_requests_total", ["result": "0xC004F038"]) == 8)
        #expect(value("tally_requests_total", ["result": "0x00000000"]) == 1)
        #expect(value("tally_requests_total", ["result": "0xC004F042"]) == 1)
        #expect(value("tally_machines_counted", ["class": "client"]) == 4)
        #expect(value("tally_machines_required", ["class": "client"]) == 25)
        #expect(value("tally_machines_counted", ["class": "server"]) == 5)
        #expect(value("tally_machines_required", ["class": "server"]) == 5)
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
