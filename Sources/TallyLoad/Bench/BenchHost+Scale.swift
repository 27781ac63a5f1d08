import Foundation

extension BenchHost {
    /// Fills a copy of the template with `clients` known clients (this binary's `tally host fill`, timed), then
    /// starts the host and asks with new CMIDs until a grant's count is exactly right: the known clients, plus
    /// every request counted so far, plus this one. The time is from exec to that grant.
    func scale(clients: Int, keep: Bool) throws(BenchError) -> ScaleFigures {
        let directory = try copyTemplate("scale")
        defer { remove(directory, keep: keep) }
        let began = Clocks.monotonic()
        let output = try cli(["host", "fill", "--clients", String(clients), "--state-dir", directory, "--json"], timeout: 3600)
        let fillSeconds = Clocks.monotonic() - began
        let reported = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let filled = (reported?["clients"] as? NSNumber)?.intValue ?? clients
        let knownClients = known + filled

        let host = try serve(directory)
        defer { _ = host.process.stop() }
        var counted = 0
        var requests = 0
        var countCheck = "ok"
        let request = request()
        let deadline = Clocks.monotonic() + 600
        var grantedAt: Double?
        while grantedAt == nil, Clocks.monotonic() < deadline {
            requests += 1
            guard let exchange = Exchange.send(request.make(), port: host.port), exchange.status == 200, let answer = exchange.answer else {
                usleep(1000)
                continue
            }
            guard answer.granted || answer.result == countTooLow else { continue }
            counted += 1
            if answer.granted, answer.current == knownClients + counted {
                grantedAt = Clocks.monotonic()
            } else if countCheck == "ok" {
                countCheck = "request \(requests): \(Self.hex(answer.result)) with count \(answer.current.map(String.init) ?? "none"), expected a grant at \(knownClients + counted)"
            }
        }
        guard let grantedAt else { throw BenchError("\(label): no correctly counted grant within 600 s of starting with \(clients) clients") }
        let status = host.read("status")
        let rss = ProcFiles.statusKilobytes("VmRSS", text: status) ?? 0
        let peak = ProcFiles.statusKilobytes("VmHWM", text: status) ?? 0
        guard host.process.stop() != nil else { throw BenchError("\(label): the host with \(clients) clients did not exit on SIGTERM") }
        return ScaleFigures(clients: filled, fillSeconds: fillSeconds, fillReportedSeconds: (reported?["seconds"] as? NSNumber)?.doubleValue,
                            execToListeningSeconds: host.listeningAt - host.process.spawnedAt,
                            execToFirstCountedGrantSeconds: grantedAt - host.process.spawnedAt, requestsBefore: requests - 1,
                            rssKilobytes: rss, peakRSSKilobytes: peak, storeBytes: Self.size(of: directory), countCheck: countCheck)
    }

    /// Bytes of the files under `directory`.
    static func size(of directory: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total = 0
        while let file = files.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + file)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? NSNumber)?.intValue ?? 0 }
        }
        return total
    }
}
