import CTallyLoad

#if canImport(Glibc)
import Glibc
#endif

/// How the machine itself behaved during a run, measured beside the load so that a latency tail can be told
/// apart from the host's own work: a probe thread that only sleeps 1 ms at a time and notes how late it woke
/// (late by more than 2 ms: every CPU was busy, or a virtual machine was not running at all), and the steal time
/// of the machine's CPUs (/proc/stat: time the hypervisor gave to something else).
public struct MachineStalls: Sendable, Codable, Equatable {
    public var wakeups: Int
    /// Wake-ups more than 2 ms late, their total lateness and the longest one.
    public var lateWakeups: Int
    public var lateMilliseconds: Double
    public var longestLateMilliseconds: Double
    /// Steal time summed over the CPUs; `nil` when /proc/stat could not be read.
    public var stealMilliseconds: Double?

    public init(wakeups: Int, lateWakeups: Int, lateMilliseconds: Double, longestLateMilliseconds: Double, stealMilliseconds: Double?) {
        self.wakeups = wakeups
        self.lateWakeups = lateWakeups
        self.lateMilliseconds = lateMilliseconds
        self.longestLateMilliseconds = longestLateMilliseconds
        self.stealMilliseconds = stealMilliseconds
    }

    /// The probe's period and what counts as late.
    static let periodNanoseconds = 1_000_000
    static let lateNanoseconds = 2_000_000

    /// Steal time of all CPUs so far, in seconds: the eighth number of /proc/stat's `cpu` line, in clock ticks.
    static func stealSeconds(procStat text: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count > 8, let ticks = Double(fields[8]) else { return nil }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func stealSecondsNow() -> Double? {
        ProcFiles.read(path: "/proc/stat").flatMap { stealSeconds(procStat: $0) }
    }
}

/// The running probe of one load run.
final class StallProbe {
    private var probe: OpaquePointer?
    private let stealBefore: Double?

    init() {
        stealBefore = MachineStalls.stealSecondsNow()
        probe = tally_stall_probe_start(MachineStalls.periodNanoseconds, MachineStalls.lateNanoseconds)
    }

    /// Stops the probe thread; `nil` when it could not be started.
    func stop() -> MachineStalls? {
        guard let running = probe else { return nil }
        probe = nil
        var figures = tally_stall_figures()
        tally_stall_probe_stop(running, &figures)
        var steal: Double?
        if let before = stealBefore, let after = MachineStalls.stealSecondsNow() { steal = (after - before) * 1000 }
        return MachineStalls(wakeups: figures.wakeups, lateWakeups: figures.late, lateMilliseconds: figures.lateTotal * 1000,
                             longestLateMilliseconds: figures.longest * 1000, stealMilliseconds: steal)
    }

    deinit { _ = stop() }
}
