#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in monotonic time, so a wall clock that jumps cannot stretch or cut a timeout.
struct DNSDeadline {
    let seconds: Double
    private let end: UInt64

    init(after seconds: Double) {
        self.seconds = seconds
        end = DNSDeadline.now() + UInt64(max(0, seconds) * 1_000_000_000)
    }

    /// Milliseconds left, rounded up, for `poll`; 0 once passed.
    var remainingMilliseconds: Int32 {
        let now = DNSDeadline.now()
        guard now < end else { return 0 }
        return Int32(clamping: (end - now + 999_999) / 1_000_000)
    }

    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
