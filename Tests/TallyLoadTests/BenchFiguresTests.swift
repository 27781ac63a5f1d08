import Testing
@testable import TallyLoad

@Suite("Count check, medians over rounds, rows and ratios")
struct BenchFiguresTests {
    @Test("the count check finds repeats, counts of known clients and counts past the end", arguments: [
        ([11, 12, 13], 0, "ok"),
        ([13, 11, 12], 0, "ok"),
        ([11, 12, 12], 0, "1 counts given twice"),
        ([10, 11, 12], 0, "1 counts at or below the 10 known clients"),
        ([11, 12, 15], 0, "1 counts above 13"),
        ([11, 12, 15], 2, "ok"),
        ([11, 12, 14], 0, "1 counts above 13"),
        ([11, 11, 9], 0, "1 counts given twice, 1 counts at or below the 10 known clients"),
    ])
    func countCheck(_ counts: [Int], _ lost: Int, _ expected: String) {
        #expect(BenchHost.countCheck(counts, known: 10, lost: lost) == expected)
    }

    static func figures(_ perSecond: Double, round: Int, errors: [String: Int] = [:]) -> LoadFigures {
        LoadFigures(mode: "keep-alive", connections: 16, pacedRate: nil, round: round, answers: 100, grants: 100, seconds: 1,
                    activationsPerSecond: perSecond, p50Milliseconds: perSecond / 1000, p99Milliseconds: 2, maxMilliseconds: 3,
                    hostCPUMicrosecondsPerGrant: 300, hostCPUMicrosecondsPerGrantDuringLoad: 290, writeBytesPerGrant: 4096,
                    readWriteCallsPerGrant: 20, driverCPUMicrosecondsPerRequest: 15,
                    driverUserCPUMicrosecondsPerRequest: 5, hostExitSeconds: 0.01, hostRSSKilobytesAfterLoad: 40000,
                    hostPeakRSSKilobytes: 41000, statuses: ["200": 100], results: ["0x00000000": 100], formats: ["token": 100], errors: errors,
                    unreadable: 0, countCheck: "ok")
    }

    @Test("the median of each figure over rounds; counts summed; problems of any round kept")
    func median() {
        let runs = [Self.figures(3000, round: 0), Self.figures(1000, round: 1, errors: ["timeout": 2]), Self.figures(2000, round: 2)]
        let median = LoadFigures.median(runs)
        #expect(median.activationsPerSecond == 2000)
        #expect(median.p50Milliseconds == 2)
        #expect(median.grants == 300)
        #expect(median.statuses == ["200": 300])
        #expect(median.errors == ["timeout": 2])
        #expect(median.problems == ["2 requests without an answer (timeout 2)"])
        #expect(LoadFigures.median([runs[0], runs[1]]).activationsPerSecond == 2000)
        #expect(Self.figures(1, round: 0).problems.isEmpty)
    }

    @Test("a report's rows carry every figure, a value per host and this ÷ baseline")
    func rows() {
        let wire = WireFigures(grantBytes: 2000, grantCertificateCopies: 1, grantHoldingCertificateBytes: 900, refusalHoldingCertificateBytes: 800,
                               refusalBytes: 1700, requestBytes: 400, requestWithHashBytes: 450, format: .token)
        var this = HostReport(label: "this", binary: "/a", protocolVersion: 2, knownClientsAfterSetup: 27, wire: wire,
                              load: [Self.figures(4000, round: 0)], paced: nil, idle: nil, scale: [], profile: nil, runs: [], problems: [])
        var baseline = this
        baseline.label = "baseline"
        baseline.protocolVersion = 1
        baseline.wire?.grantBytes = 4000
        baseline.load = [Self.figures(2000, round: 0)]
        this.scale = [ScaleFigures(clients: 1_000_000, fillSeconds: 30, fillReportedSeconds: 29, execToListeningSeconds: 0.3,
                                   execToFirstCountedGrantSeconds: 0.4, requestsBefore: 0, rssKilobytes: 100_000, peakRSSKilobytes: 110_000,
                                   storeBytes: 1 << 28, countCheck: "ok")]
        let report = BenchReport(cores: 2, signing: [50000, 60000], secondsPerMode: 5, rounds: 1, workDirectory: nil, hosts: [this, baseline])
        #expect(report.signaturesPerSecondOneCore == 60000)
        let grant = report.rows.first { $0.measure == "wire: granted answer, HTTP included" }
        #expect(grant?.values == [2000, 4000])
        #expect(grant?.ratio == 0.5)
        let rate = report.rows.first { $0.measure == "keep-alive ×16: activations/s" }
        #expect(rate?.ratio == 2)
        let share = report.rows.first { $0.measure == "keep-alive ×16: activations/s ÷ (cores × signatures/s)" }
        #expect(share?.values.first == .some(100 * 4000 / 120_000))
        let start = report.rows.first { $0.measure == "1M known clients: exec to the first correctly counted grant" }
        #expect(start?.values == [0.4, nil])
        #expect(start?.ratio == nil)
        #expect(report.problems.isEmpty)
        #expect(report.text.contains("this÷baseline"))
        #expect(report.text.contains("No problems"))
    }
}

@Suite("The host's own latency histogram, from Prometheus text")
struct HostLatencyTests {
    static func text(_ buckets: [(String, Int)], count: Int, host: String? = "h1") -> String {
        let labels = host.map { "host=\"\($0)\"," } ?? ""
        return "# TYPE tally_activation_latency_seconds histogram\n"
            + buckets.map { "tally_activation_latency_seconds_bucket{\(labels)le=\"\($0.0)\"} \($0.1)" }.joined(separator: "\n")
            + "\ntally_activation_latency_seconds_sum{\(labels.dropLast())} 1.5\ntally_activation_latency_seconds_count{\(labels.dropLast())} \(count)\n"
            + "tally_group_commit_batch_size_bucket{\(labels)le=\"0.002\"} 999\n"
    }

    @Test("buckets and count are read, with or without the host label; other series are not")
    func parse() throws {
        let latency = try #require(HostLatency(prometheus: Self.text([("0.002", 90), ("0.01", 99), ("+Inf", 100)], count: 100)))
        #expect(latency.buckets == [0.002: 90, 0.01: 99, .infinity: 100])
        #expect(latency.count == 100)
        let unlabelled = try #require(HostLatency(prometheus: Self.text([("0.002", 3)], count: 4, host: nil)))
        #expect(unlabelled.buckets == [0.002: 3] && unlabelled.count == 4)
        #expect(HostLatency(prometheus: "tally_store_round_trips_total 5\n") == nil)
    }

    @Test("the share over a bound counts only what came between the two readings")
    func between() {
        let before = HostLatency(buckets: [0.002: 90, 0.01: 99], count: 100)
        let after = HostLatency(buckets: [0.002: 170, 0.01: 195], count: 200)
        #expect(HostLatency.percentOver(0.002, from: before, to: after) == 20)
        #expect(HostLatency.percentOver(0.01, from: before, to: after) == 4)
        #expect(HostLatency.percentOver(0.003, from: before, to: after) == nil, "not a bucket's bound")
        #expect(HostLatency.percentOver(0.002, from: after, to: after) == nil, "nothing came")
    }
}
