import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension BenchHost {
    /// One load mode on a fresh host process over a copy of the template: a warm-up, then the load, then
    /// SIGTERM. The host's CPU and write bytes are read from /proc just before the load and from wait4 once it
    /// has exited, so work it defers past the load still counts.
    ///
    /// With `profile` (the path of perf), `perf record -g` follows the host from just before the load until it
    /// exits, and `profiled` gets its breakdown; the figures of such a run carry perf's overhead.
    func load(keepAlive: Bool, connections: Int, seconds: Double, rate: Double?, warmupPerConnection: Int, round: Int,
              keep: Bool, profile perf: String? = nil, profiled: ((ProfileBreakdown) -> Void)? = nil) throws(BenchError) -> LoadFigures {
        let directory = try copyTemplate(keepAlive ? "keepalive" : "new")
        defer { remove(directory, keep: keep) }
        // Paced: with the admin port, so the host's own latency histogram can be read beside the driver's.
        let host = try serve(directory, admin: rate != nil)
        defer { _ = host.process.stop(signal: SIGKILL) }
        let template = request(keepAlive: keepAlive)
        func drive(_ configuration: LoadConfiguration) throws(BenchError) -> LoadResult {
            do {
                return try LoadDriver(configuration).run()
            } catch {
                throw BenchError("\(label): the load driver could not run: \(error)")
            }
        }
        let warmup = try drive(LoadConfiguration(port: host.port, connections: connections, template: template, duration: 60,
                                                 requestLimit: max(16, warmupPerConnection * connections)))
        var recorder: ChildProcess?
        let recording = directory + ".perf"
        if let perf {
            recorder = try ChildProcess(binary: perf, arguments: ["record", "-q", "-g", "-F", "499", "-p", String(host.pid), "-o", recording],
                                        captureOutput: false, stderrPath: recording + ".log")
            usleep(500_000)  // perf attaches to every thread of the host
        }
        guard let cpuBefore = ProcFiles.cpuSeconds(statText: host.read("stat")), let ioBefore = ProcFiles.io(text: host.read("io")) else {
            throw BenchError("\(label): cannot read /proc/\(host.pid)/stat and io")
        }
        let latencyBefore = rate == nil ? nil : hostLatency(host)
        let result = try drive(LoadConfiguration(port: host.port, connections: connections, template: template, duration: seconds, rate: rate))
        let latencyAfter = rate == nil ? nil : hostLatency(host)
        let cpuAfterLoad = ProcFiles.cpuSeconds(statText: host.read("stat")) ?? cpuBefore
        let ioAfterLoad = ProcFiles.io(text: host.read("io")) ?? ioBefore
        let rss = ProcFiles.statusKilobytes("VmRSS", text: host.read("status")) ?? 0
        let terminated = Clocks.monotonic()
        guard let exit = host.process.stop() else {
            throw BenchError("\(label): the host did not exit within 60 s of SIGTERM after the load; its log: \(host.logTail)")
        }
        let exitSeconds = Clocks.monotonic() - terminated
        if let perf, let recorder {
            // perf stops by itself when the host exits.
            guard recorder.wait(timeout: 120) != nil || recorder.stop(signal: SIGINT, timeout: 60) != nil else {
                throw BenchError("\(label): perf record did not stop")
            }
            let script = recording + ".txt"
            let reader = try ChildProcess(binary: perf, arguments: ["script", "-i", recording, "-F", "tid,ip,sym,dso"], captureOutput: false,
                                          stdoutPath: script, stderrPath: recording + ".log")
            guard reader.wait(timeout: 600)?.exitCode == 0, let text = try? String(contentsOfFile: script, encoding: .utf8) else {
                throw BenchError("\(label): perf script failed: \((try? String(contentsOfFile: recording + ".log", encoding: .utf8)) ?? "")")
            }
            profiled?(ProfileBreakdown(perfScript: text))
            for file in [recording, script, recording + ".log"] where !keep { unlink(file) }
        }
        let grants = max(result.grants, 1)
        let calls = (ioAfterLoad.readCalls + ioAfterLoad.writeCalls) - (ioBefore.readCalls + ioBefore.writeCalls)
        var figures = LoadFigures(
            mode: keepAlive ? "keep-alive" : "new connection", connections: connections, pacedRate: rate, round: round,
            answers: result.answers, grants: result.grants, seconds: result.seconds,
            activationsPerSecond: Double(result.grants) / result.seconds,
            p50Milliseconds: result.p50 * 1000, p99Milliseconds: result.p99 * 1000, maxMilliseconds: result.max * 1000,
            hostCPUMicrosecondsPerGrant: (exit.cpuSeconds - cpuBefore) / Double(grants) * 1e6,
            hostCPUMicrosecondsPerGrantDuringLoad: (cpuAfterLoad - cpuBefore) / Double(grants) * 1e6,
            writeBytesPerGrant: Double(exit.writeBytes - ioBefore.writeBytes) / Double(grants),
            readWriteCallsPerGrant: Double(calls) / Double(grants),
            driverCPUMicrosecondsPerRequest: result.driverCPUSeconds / Double(max(result.answers, 1)) * 1e6,
            driverUserCPUMicrosecondsPerRequest: result.driverUserCPUSeconds / Double(max(result.answers, 1)) * 1e6,
            hostExitSeconds: exitSeconds, hostRSSKilobytesAfterLoad: rss, hostPeakRSSKilobytes: exit.maxResidentKilobytes,
            statuses: Dictionary(uniqueKeysWithValues: result.statuses.map { (String($0.key), $0.value) }),
            results: Dictionary(uniqueKeysWithValues: result.results.map { (Self.hex($0.key), $0.value) }),
            formats: Dictionary(uniqueKeysWithValues: result.formats.map { ($0.key.rawValue, $0.value) }),
            errors: result.errors, unreadable: result.unreadable, countCheck: "")
        figures.takeTail(of: result)
        if let latencyBefore, let latencyAfter {
            figures.hostOver2MillisecondsPercent = HostLatency.percentOver(0.002, from: latencyBefore, to: latencyAfter)
            figures.hostOver10MillisecondsPercent = HostLatency.percentOver(0.01, from: latencyBefore, to: latencyAfter)
        }
        for (key, value) in warmup.errors { figures.errors["warm-up: " + key, default: 0] += value }
        let lost = result.errors.values.reduce(0, +) + warmup.errors.values.reduce(0, +)
        figures.countCheck = Self.countCheck(warmup.grantCounts + result.grantCounts, known: known, lost: lost)
        if exit.exitCode != 0 { figures.errors["host exit status \(exit.exitCode.map(String.init) ?? "signal \(exit.signal ?? 0)")"] = 1 }
        return figures
    }

    /// Whether the grants' counts are exactly `known`+1 … `known`+n, each once (n distinct counts in that
    /// range are all of it). Requests that got no answer
    /// (`lost`) may have been counted all the same, so with losses only repeats and counts beyond
    /// `known` + n + `lost` are wrong.
    static func countCheck(_ counts: [Int], known: Int, lost: Int) -> String {
        let sorted = counts.sorted()
        var repeated = 0
        for index in sorted.indices.dropFirst() where sorted[index] == sorted[index - 1] { repeated += 1 }
        let low = sorted.filter { $0 <= known }.count
        let high = sorted.filter { $0 > known + counts.count + lost }.count
        var problems: [String] = []
        if repeated > 0 { problems.append("\(repeated) counts given twice") }
        if low > 0 { problems.append("\(low) counts at or below the \(known) known clients") }
        if high > 0 { problems.append("\(high) counts above \(known + counts.count + lost)") }
        return problems.isEmpty ? "ok" : problems.joined(separator: ", ")
    }
}
