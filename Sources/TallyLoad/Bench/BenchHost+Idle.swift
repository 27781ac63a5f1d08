#if canImport(Glibc)
import Glibc
#endif

extension BenchHost {
    /// A host started on a copy of the template and left alone for a second: its RSS and smaps breakdown.
    func idle(keep: Bool) throws(BenchError) -> IdleFigures {
        let directory = try copyTemplate("idle")
        defer { remove(directory, keep: keep) }
        let host = try serve(directory)
        defer { _ = host.process.stop() }
        usleep(1_000_000)
        let status = host.read("status")
        let executable = resolvedExecutable(host.pid)
        let figures = IdleFigures(rssKilobytes: ProcFiles.statusKilobytes("VmRSS", text: status) ?? 0,
                                  threads: Int(status.split(separator: "\n").first { $0.hasPrefix("Threads:") }?.split(separator: "\t").last ?? "") ?? 0,
                                  smaps: SmapsBreakdown(smaps: host.read("smaps"), executable: executable))
        guard host.process.stop() != nil else { throw BenchError("\(label): the idle host did not exit on SIGTERM") }
        return figures
    }

    /// The path /proc/PID/exe links to, as smaps names the binary's mappings.
    func resolvedExecutable(_ pid: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return binary }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
