import Testing
@testable import TallyLoad

/// The epoll driver against a canned host on loopback: what it counts, over kept-alive and new connections.
@Suite("Load driver", .serialized)
struct LoadDriverTests {
    func run(_ host: CannedHost, connections: Int, keepAlive: Bool, limit: Int? = nil, duration: Double = 30, rate: Double? = nil) throws -> LoadResult {
        try LoadDriver(LoadConfiguration(port: host.port, connections: connections, template: ActivationRequestTemplate(version: 2, keepAlive: keepAlive),
                                         duration: duration, requestLimit: limit, rate: rate, responseTimeout: 20)).run()
    }

    @Test("keep-alive: every answer read and counted, on as many connections as asked, counts exactly known+1…")
    func keepAlive() throws {
        let host = try CannedHost(.grant(known: 27))
        defer { host.stop() }
        let result = try run(host, connections: 4, keepAlive: true, limit: 200)
        #expect(result.answers == 200)
        #expect(result.grants == 200)
        #expect(result.statuses == [200: 200])
        #expect(result.formats == [.token: 200])
        #expect(result.problems == 0)
        #expect(result.grantCounts.sorted() == Array(28...227))
        #expect(host.counts.accepted == 4)
        #expect(host.counts.closeHeaders == 0)
        #expect(result.p50 <= result.p99)
        #expect(result.p99 <= result.max)
        #expect(result.driverCPUSeconds > 0)
        #expect(BenchHost.countCheck(result.grantCounts, known: 27, lost: 0) == "ok")
        // Answers over 2 ms agree with the slowest one; the machine's probe ran beside the load.
        #expect((result.over2Milliseconds > 0) == (result.max > 0.002))
        #expect(result.over2Milliseconds <= result.answers)
        let machine = try #require(result.machine)
        #expect(machine.lateWakeups <= machine.wakeups)
        #expect(machine.longestLateMilliseconds <= machine.lateMilliseconds || machine.lateWakeups == 0)
        #expect(machine.stealMilliseconds != nil, "/proc/stat was not read")
    }

    @Test("several hosts driven together: the connections shared out evenly, every answer of both counted")
    func severalPorts() throws {
        let first = try CannedHost(.grant(known: 0))
        defer { first.stop() }
        let second = try CannedHost(.grant(known: 0))
        defer { second.stop() }
        let result = try LoadDriver(LoadConfiguration(port: first.port, connections: 4, template: ActivationRequestTemplate(version: 2, keepAlive: true),
                                                      duration: 30, requestLimit: 100, responseTimeout: 20, otherPorts: [second.port])).run()
        #expect(result.answers == 100)
        #expect(result.grants == 100)
        #expect(first.counts.accepted == 2)
        #expect(second.counts.accepted == 2)
        #expect(first.counts.requests + second.counts.requests == 100)
        #expect(first.counts.requests > 0 && second.counts.requests > 0)
    }

    @Test("new connection: one connection per request, each asking the host to close")
    func newConnections() throws {
        let host = try CannedHost(.grant(known: 0))
        defer { host.stop() }
        let result = try run(host, connections: 3, keepAlive: false, limit: 60)
        #expect(result.grants == 60)
        #expect(result.problems == 0)
        #expect(host.counts.accepted == 60)
        #expect(host.counts.closeHeaders == 60)
    }

    @Test("a host that closes without answering: every request is an error, none an answer")
    func closedWithoutAnswer() throws {
        let host = try CannedHost(.closeWithoutAnswer)
        defer { host.stop() }
        let result = try run(host, connections: 2, keepAlive: true, limit: 10)
        #expect(result.answers == 0)
        #expect(result.errors["closed before answering"] == 10)
        #expect(result.problems == 10)
    }

    @Test("HTTP errors are answers counted by status, not grants")
    func httpErrors() throws {
        let host = try CannedHost(.status(503))
        defer { host.stop() }
        let result = try run(host, connections: 2, keepAlive: true, limit: 20)
        #expect(result.answers == 20)
        #expect(result.statuses == [503: 20])
        #expect(result.grants == 0)
        #expect(result.problems == 20)
    }

    @Test("no host on the port: connect errors, and the run still ends")
    func nobodyListening() throws {
        let host = try CannedHost(.grant(known: 0))
        host.stop()
        let result = try run(host, connections: 2, keepAlive: true, limit: 6)
        #expect(result.answers == 0)
        #expect(result.errors.values.reduce(0, +) == 6)
    }

    @Test("paced: never more requests than the schedule has in the time")
    func paced() throws {
        let host = try CannedHost(.grant(known: 0))
        defer { host.stop() }
        let result = try run(host, connections: 4, keepAlive: true, duration: 0.5, rate: 200)
        #expect(result.answers > 0)
        #expect(result.answers <= 101)
        #expect(result.problems == 0)
    }
}
