#if canImport(Glibc)
import Glibc
#endif

/// Clocks the driver reads per request: both are vDSO calls, no system call.
enum Clocks {
    /// Seconds on CLOCK_MONOTONIC, the clock timerfd deadlines use too.
    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds of the calling thread (the driver runs its whole loop on one thread).
    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// User-space CPU seconds of the calling thread (getrusage RUSAGE_THREAD); the rest of ``threadCPU()`` is
    /// the kernel's, mostly the loopback TCP work any client would cause.
    static func threadUserCPU() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD, which Glibc's module does not name
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    }

    /// Seconds since 1970, for the request's `clientTime`.
    static func unixSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts.tv_sec
    }
}
