import CTallyLoad

#if canImport(Glibc)
import Glibc
#endif

/// What `wait4` reports for a process that has exited: all the CPU it used, and its block I/O.
public struct ExitUsage: Sendable, Equatable {
    /// ru_utime + ru_stime, in seconds.
    public var cpuSeconds: Double
    /// ru_oublock × 512: the same count as /proc/PID/io write_bytes, to the end of the process.
    public var writeBytes: Int
    /// ru_inblock × 512.
    public var readBytes: Int
    /// ru_maxrss, in KiB.
    public var maxResidentKilobytes: Int
    /// The wait status: exited normally with `exitCode`, or killed by `signal`.
    public var exitCode: Int32?
    public var signal: Int32?

    public init(usage: rusage, status: Int32) {
        cpuSeconds = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        writeBytes = Int(usage.ru_oublock) * 512
        readBytes = Int(usage.ru_inblock) * 512
        maxResidentKilobytes = Int(usage.ru_maxrss)
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        if status & 0x7F == 0 {
            exitCode = (status >> 8) & 0xFF
        } else {
            signal = status & 0x7F
        }
    }
}
