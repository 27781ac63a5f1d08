import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension BenchHost {
    /// `count` copies of the template on the PostgreSQL store `store`: the schema emptied (`empty`), the template's
    /// SQLite store copied into it by this binary's `host store migrate`, and every copy set to the store.
    func postgresStates(_ count: Int, store: String, empty: () throws -> Void) throws(BenchError) -> [String] {
        do {
            try empty()
        } catch {
            throw BenchError("\(label): cannot empty the schema of \(store): \(error)")
        }
        var directories: [String] = []
        for _ in 0..<count { directories.append(try copyTemplate("postgres")) }
        try cli(["host", "store", "migrate", "--to", store, "--state-dir", directories[0]])
        for directory in directories { try cli(["host", "set", "store", store, "--state-dir", directory]) }
        return directories
    }

    /// One load on `count` hosts sharing the PostgreSQL store, started on fresh copies of the template and the
    /// store emptied first: a warm-up, then the load over `connections` shared out among them, then SIGTERM to each.
    /// CPU and write bytes are the hosts' sums, as in ``load(keepAlive:connections:seconds:rate:warmupPerConnection:round:keep:profile:profiled:)``;
    /// the counts of all grants must be one sequence (the store counts once for every host).
    func postgresLoad(hosts count: Int, connections: Int, seconds: Double, rate: Double?, warmupPerConnection: Int, round: Int, keep: Bool,
                      store: String, empty: () throws -> Void) throws(BenchError) -> LoadFigures {
        let directories = try postgresStates(count, store: store, empty: empty)
        defer { for directory in directories { remove(directory, keep: keep) } }
        var hosts: [RunningHost] = []
        defer { for host in hosts { _ = host.process.stop(signal: SIGKILL) } }
        for directory in directories { hosts.append(try serve(directory, admin: true)) }
        let template = request(keepAlive: true)
        let ports = hosts.map(\.port)
        func drive(_ configuration: LoadConfiguration) throws(BenchError) -> LoadResult {
            do {
                return try LoadDriver(configuration).run()
            } catch {
                throw BenchError("\(label): the load driver could not run: \(error)")
            }
        }
        let warmup = try drive(LoadConfiguration(port: ports[0], connections: connections, template: template, duration: 60,
                                                 requestLimit: max(16, warmupPerConnection * connections), otherPorts: Array(ports.dropFirst())))
        var cpuBefore = 0.0, writeBefore = 0, callsBefore = 0, tripsBefore = 0
        for host in hosts {
            guard let cpu = ProcFiles.cpuSeconds(statText: host.read("stat")), let io = ProcFiles.io(text: host.read("io")) else {
                throw BenchError("\(label): cannot read /proc/\(host.pid)/stat and io")
            }
            cpuBefore += cpu
            writeBefore += io.writeBytes
            callsBefore += io.readCalls + io.writeCalls
            tripsBefore += try storeRoundTrips(host)
        }
        let result = try drive(LoadConfiguration(port: ports[0], connections: connections, template: template, duration: seconds, rate: rate,
                                                 otherPorts: Array(ports.dropFirst())))
        var cpuAfterLoad = 0.0, callsAfterLoad = 0, tripsAfter = 0, rss = 0
        for host in hosts {
            cpuAfterLoad += ProcFiles.cpuSeconds(statText: host.read("stat")) ?? 0
            if let io = ProcFiles.io(text: host.read("io")) { callsAfterLoad += io.readCalls + io.writeCalls }
            tripsAfter += try storeRoundTrips(host)
            rss += ProcFiles.statusKilobytes("VmRSS", text: host.read("status")) ?? 0
        }
        let terminated = Clocks.monotonic()
        var exits: [ExitUsage] = []
        for host in hosts { _ = kill(host.pid, SIGTERM) }
        for host in hosts {
            guard let exit = host.process.wait(timeout: 60) else {
                throw BenchError("\(label): a host on PostgreSQL did not exit within 60 s of SIGTERM after the load; its log: \(host.logTail)")
            }
            exits.append(exit)
        }
        let exitSeconds = Clocks.monotonic() - terminated
        let grants = Double(max(result.grants, 1))
        let answers = Double(max(result.answers, 1))
        var figures = LoadFigures(
            mode: "keep-alive", connections: connections, pacedRate: rate, round: round,
            answers: result.answers, grants: result.grants, seconds: result.seconds,
            activationsPerSecond: Double(result.grants) / result.seconds,
            p50Milliseconds: result.p50 * 1000, p99Milliseconds: result.p99 * 1000, maxMilliseconds: result.max * 1000,
            hostCPUMicrosecondsPerGrant: (exits.map(\.cpuSeconds).reduce(0, +) - cpuBefore) / grants * 1e6,
            hostCPUMicrosecondsPerGrantDuringLoad: (cpuAfterLoad - cpuBefore) / grants * 1e6,
            writeBytesPerGrant: Double(exits.map(\.writeBytes).reduce(0, +) - writeBefore) / grants,
            readWriteCallsPerGrant: Double(callsAfterLoad - callsBefore) / grants,
            driverCPUMicrosecondsPerRequest: result.driverCPUSeconds / answers * 1e6,
            driverUserCPUMicrosecondsPerRequest: result.driverUserCPUSeconds / answers * 1e6,
            hostExitSeconds: exitSeconds, hostRSSKilobytesAfterLoad: rss, hostPeakRSSKilobytes: exits.map(\.maxResidentKilobytes).reduce(0, +),
            statuses: Dictionary(uniqueKeysWithValues: result.statuses.map { (String($0.key), $0.value) }),
            results: Dictionary(uniqueKeysWithValues: result.results.map { (Self.hex($0.key), $0.value) }),
            formats: Dictionary(uniqueKeysWithValues: result.formats.map { ($0.key.rawValue, $0.value) }),
            errors: result.errors, unreadable: result.unreadable, countCheck: "",
            hosts: count, storeRoundTripsPerGrant: Double(tripsAfter - tripsBefore) / grants)
        figures.takeTail(of: result)
        for (key, value) in warmup.errors { figures.errors["warm-up: " + key, default: 0] += value }
        let lost = result.errors.values.reduce(0, +) + warmup.errors.values.reduce(0, +)
        figures.countCheck = Self.countCheck(warmup.grantCounts + result.grantCounts, known: known, lost: lost)
        for exit in exits where exit.exitCode != 0 {
            figures.errors["host exit status \(exit.exitCode.map(String.init) ?? "signal \(exit.signal ?? 0)")", default: 0] += 1
        }
        return figures
    }

    /// `tally_store_round_trips_total` from the host's `/metrics`.
    func storeRoundTrips(_ host: RunningHost) throws(BenchError) -> Int {
        guard let adminPort = host.adminPort else { throw BenchError("\(label): the host has no admin port to read /metrics from") }
        guard let text = metricsText(host) else {
            throw BenchError("\(label): GET /metrics failed on the admin port \(adminPort); the host's log: \(host.logTail)")
        }
        guard let value = Self.metric("tally_store_round_trips_total", in: text) else {
            throw BenchError("\(label): /metrics has no tally_store_round_trips_total (a host from before it was counted?)")
        }
        return value
    }

    /// The host's `/metrics` (Prometheus text) from its admin port; `nil` without an admin port or a 200 answer.
    func metricsText(_ host: RunningHost) -> String? {
        guard let adminPort = host.adminPort else { return nil }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard let exchange = Exchange.send(request, port: adminPort), exchange.status == 200 else { return nil }
        return String(decoding: exchange.body, as: UTF8.self)
    }

    /// The sample `name` in Prometheus text, with or without labels (a host labels its series with its id).
    static func metric(_ name: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            guard let value = line.split(separator: " ").last else { continue }
            return Double(value).map { Int($0) }
        }
        return nil
    }
}
