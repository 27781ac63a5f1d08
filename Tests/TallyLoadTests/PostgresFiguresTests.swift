import Testing
@testable import TallyLoad

@Suite("tally bench --store: the PostgreSQL rows, their ratios and targets, the round trips read from /metrics")
struct PostgresFiguresTests {
    static func figures(_ perSecond: Double, hosts: Int?, rate: Double? = nil, p99: Double = 2, trips: Double? = nil,
                        countCheck: String = "ok") -> LoadFigures {
        var figures = BenchFiguresTests.figures(perSecond, round: 0)
        figures.hosts = hosts
        figures.pacedRate = rate
        figures.p99Milliseconds = p99
        figures.storeRoundTripsPerGrant = trips
        figures.countCheck = countCheck
        return figures
    }

    @Test("the rows: each rate, one host ÷ SQLite, two hosts ÷ one, the paced p99 and the round trips, each target named")
    func rows() {
        let postgres = PostgresFigures(store: "postgresql://tally@127.0.0.1:5432/bench", connections: 16, pacedFraction: 0.5,
                                       sqlite: Self.figures(4000, hosts: nil), one: Self.figures(2400, hosts: 1, trips: 1.5),
                                       two: Self.figures(2160, hosts: 2, trips: 1.8), paced: Self.figures(1200, hosts: 1, rate: 1200, p99: 4, trips: 3),
                                       runs: [])
        func value(_ measure: String) -> Double? { postgres.rows.first { $0.measure == measure }?.values.first ?? nil }
        #expect(value("one PostgreSQL host ÷ SQLite host (target ≥ 0.5)") == 0.6)
        #expect(value("two PostgreSQL hosts together ÷ one (target ≥ 0.9)") == 0.9)
        #expect(value("one PostgreSQL host, paced at 50 % of its maximum: p99 from when due (target < 10)") == 4)
        #expect(value("one PostgreSQL host, paced at 50 % of its maximum: rate asked") == 1200)
        #expect(value("round trips to PostgreSQL per activation: one host") == 1.5)
        #expect(value("round trips to PostgreSQL per activation: two hosts together") == 1.8)
        #expect(value("SQLite host, keep-alive ×16: activations/s") == 4000)
        #expect(postgres.rows.allSatisfy { $0.values.count == 1 && $0.ratio == nil })
        #expect(postgres.problems.isEmpty)

        // Without the SQLite run there is no ratio to it, and no row claims one.
        let alone = PostgresFigures(store: postgres.store, connections: 16, pacedFraction: 0.5, sqlite: nil, one: postgres.one, two: nil,
                                    paced: nil, runs: [])
        #expect(!alone.rows.contains { $0.measure.contains("÷") })
    }

    @Test("a PostgreSQL run's problems are the report's, named by how many hosts; the text has the section")
    func problemsAndText() {
        let bad = Self.figures(100, hosts: 2, countCheck: "1 counts given twice")
        let postgres = PostgresFigures(store: "postgresql://tally@127.0.0.1:5432/bench", connections: 16, pacedFraction: 0.5, sqlite: nil,
                                       one: nil, two: bad, paced: nil, runs: [bad])
        let this = HostReport(label: "this", binary: "/a", protocolVersion: 2, knownClientsAfterSetup: 27, wire: nil, load: [], paced: nil,
                              idle: nil, scale: [], profile: nil, runs: [], problems: [])
        let report = BenchReport(cores: 2, signing: [50000], secondsPerMode: 5, rounds: 1, workDirectory: nil, hosts: [this], postgres: postgres)
        #expect(report.problems == ["this PostgreSQL, 2 hosts together, keep-alive ×16, round 1: count check: 1 counts given twice"])
        #expect(report.text.contains("PostgreSQL store postgresql://tally@127.0.0.1:5432/bench"))
        #expect(report.text.contains("PROBLEM"))
    }

    @Test("tally_store_round_trips_total is read from Prometheus text; another series of a like name is not it")
    func metric() {
        let text = """
            # HELP tally_store_round_trips_total Round trips.
            # TYPE tally_store_round_trips_total counter
            tally_store_round_trips_total_other 5
            tally_store_round_trips_total 1234
            """
        #expect(BenchHost.metric("tally_store_round_trips_total", in: text) == 1234)
        #expect(BenchHost.metric("tally_requests_total", in: text) == nil)
        // As a host writes it: with its host label.
        #expect(BenchHost.metric("tally_store_round_trips_total", in: "tally_store_round_trips_total{host=\"h-1\"} 77\n") == 77)
    }
}
