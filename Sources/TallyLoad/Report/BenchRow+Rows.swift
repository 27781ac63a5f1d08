extension BenchRow {
    /// The rows of a report: answer sizes, idle memory, each load mode, the paced run, start at scale.
    static func rows(of report: BenchReport) -> [BenchRow] {
        let hosts = report.hosts
        var rows: [BenchRow] = []
        func add(_ measure: String, _ unit: String, _ value: (HostReport) -> Double?) {
            let values = hosts.map(value)
            if values.contains(where: { $0 != nil }) { rows.append(BenchRow(measure, unit, values)) }
        }
        func kib(_ value: Int?) -> Double? { value.map { Double($0) / 1024 } }

        add("protocol version", "", { Double($0.protocolVersion) })
        add("wire: granted answer, HTTP included", "B", { $0.wire.map { Double($0.grantBytes) } })
        add("wire: copies of the host certificate in it", "", { $0.wire.map { Double($0.grantCertificateCopies) } })
        add("wire: refusal (C004F038) to a client holding the certificate", "B", { $0.wire.map { Double($0.refusalHoldingCertificateBytes) } })
        add("wire: grant to a client holding the certificate", "B", { $0.wire.map { Double($0.grantHoldingCertificateBytes) } })
        add("wire: refusal to a client without it", "B", { $0.wire.map { Double($0.refusalBytes) } })
        add("wire: request (with hch)", "B", { $0.wire.map { Double($0.requestWithHashBytes) } })

        add("idle RSS", "MB", { kib($0.idle?.rssKilobytes) })
        for name in SmapsBreakdown.names {
            add("idle RSS: \(name)", "MB", { kib($0.idle.map { $0.smaps.kilobytes(name) }) })
        }
        add("idle threads", "", { $0.idle.map { Double($0.threads) } })

        let signing = Double(report.cores) * report.signaturesPerSecondOneCore
        let modes = hosts.flatMap { $0.load.map { ($0.mode, $0.connections) } }
        var seen = Set<String>()
        for (mode, connections) in modes where seen.insert("\(mode) \(connections)").inserted {
            func figure(_ value: @escaping (LoadFigures) -> Double) -> (HostReport) -> Double? {
                { host in host.load.first { $0.mode == mode && $0.connections == connections }.map(value) }
            }
            let name = "\(mode) ×\(connections)"
            add("\(name): activations/s", "/s", figure(\.activationsPerSecond))
            add("\(name): activations/s ÷ (cores × signatures/s)", "%", figure { signing > 0 ? 100 * $0.activationsPerSecond / signing : 0 })
            add("\(name): p50", "ms", figure(\.p50Milliseconds))
            add("\(name): p99", "ms", figure(\.p99Milliseconds))
            add("\(name): max", "ms", figure(\.maxMilliseconds))
            add("\(name): host CPU per activation, until exit", "µs", figure(\.hostCPUMicrosecondsPerGrant))
            add("\(name): host CPU per activation, during the load", "µs", figure(\.hostCPUMicrosecondsPerGrantDuringLoad))
            add("\(name): disk bytes written per activation, until exit", "B", figure(\.writeBytesPerGrant))
            add("\(name): host read+write calls per activation", "", figure(\.readWriteCallsPerGrant))
            add("\(name): host exit after SIGTERM", "s", figure(\.hostExitSeconds))
            add("\(name): load driver CPU per request", "µs", figure(\.driverCPUMicrosecondsPerRequest))
            add("\(name): load driver CPU per request, user space", "µs", figure(\.driverUserCPUMicrosecondsPerRequest))
            add("\(name): problems", "", figure { Double($0.problems.count) })
        }
        if hosts.contains(where: { $0.paced != nil }) {
            let connections = hosts.compactMap(\.paced).first?.connections ?? 0
            let name = "keep-alive ×\(connections) paced at half"
            add("\(name): rate asked", "/s", { $0.paced?.pacedRate })
            add("\(name): activations/s", "/s", { $0.paced?.activationsPerSecond })
            add("\(name): p50 (from when due)", "ms", { $0.paced?.p50Milliseconds })
            add("\(name): p99 (from when due)", "ms", { $0.paced?.p99Milliseconds })
            add("\(name): max (from when due)", "ms", { $0.paced?.maxMilliseconds })
            add("\(name): answers over 2 ms", "%", { $0.paced?.over2MillisecondsPercent })
            add("\(name): the host's pipeline (entry to commit) over 2 ms", "%", { $0.paced?.hostOver2MillisecondsPercent })
            add("\(name): the host's pipeline (entry to commit) over 10 ms", "%", { $0.paced?.hostOver10MillisecondsPercent })
            add("\(name): host CPU per activation, until exit", "µs", { $0.paced?.hostCPUMicrosecondsPerGrant })
            add("\(name): the machine: 1 ms sleeps woken over 2 ms late", "", { $0.paced?.machine.map { Double($0.lateWakeups) } })
            add("\(name): the machine: the latest such wake-up, late by", "ms", { $0.paced?.machine?.longestLateMilliseconds })
            add("\(name): the machine: steal time of its CPUs", "ms", { $0.paced?.machine?.stealMilliseconds })
            add("\(name): problems", "", { $0.paced.map { Double($0.problems.count) } })
        }
        if hosts.contains(where: { $0.profile != nil }) {
            let names = hosts.compactMap(\.profile).flatMap { $0.groups.map(\.name) }
            var seenGroup = Set<String>()
            for name in names where seenGroup.insert(name).inserted {
                add("host CPU profile: \(name)", "%", { $0.profile?.percent(name) })
            }
        }
        let scales = hosts.flatMap { $0.scale.map(\.clients) }
        var seenScale = Set<Int>()
        for clients in scales where seenScale.insert(clients).inserted {
            func figure(_ value: @escaping (ScaleFigures) -> Double?) -> (HostReport) -> Double? {
                { host in host.scale.first { $0.clients == clients }.flatMap(value) }
            }
            let name = "\(Self.count(clients)) known clients"
            add("\(name): host fill", "s", figure(\.fillSeconds))
            add("\(name): exec to listening", "s", figure(\.execToListeningSeconds))
            add("\(name): exec to the first correctly counted grant", "s", figure(\.execToFirstCountedGrantSeconds))
            add("\(name): RSS after that grant", "MB", figure { kib($0.rssKilobytes) })
            add("\(name): peak RSS until then", "MB", figure { kib($0.peakRSSKilobytes) })
            add("\(name): state on disk", "MB", figure { Double($0.storeBytes) / 1_048_576 })
        }
        return rows
    }

    /// 1000000 as "1M", 2500 as "2.5k".
    static func count(_ value: Int) -> String {
        if value >= 1_000_000, value % 100_000 == 0 { return value % 1_000_000 == 0 ? "\(value / 1_000_000)M" : "\(Double(value) / 1e6)M" }
        if value >= 1000, value % 100 == 0 { return value % 1000 == 0 ? "\(value / 1000)k" : "\(Double(value) / 1e3)k" }
        return String(value)
    }
}
