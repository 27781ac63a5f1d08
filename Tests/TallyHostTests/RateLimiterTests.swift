import NIOCore
import Testing
@testable import TallyHost

@Suite("Rate limiter: a token bucket per address, time as input")
struct RateLimiterTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("a burst of twice the rate passes, the next is refused, and tokens come back with time")
    func bucket() {
        var limiter = RateLimiter(ratePerSecond: 5)
        let first = (0..<10).map { _ in limiter.allow("10.0.0.1", now: start) }
        #expect(first.allSatisfy { $0 })
        let eleventh = limiter.allow("10.0.0.1", now: start)
        #expect(!eleventh)
        // Another address has its own bucket.
        let other = limiter.allow("10.0.0.2", now: start)
        #expect(other)
        // After 200 ms one token is back (5 per second), and only one.
        let refilled = limiter.allow("10.0.0.1", now: start + .milliseconds(200))
        let again = limiter.allow("10.0.0.1", now: start + .milliseconds(200))
        #expect(refilled)
        #expect(!again)
        // After long enough, the bucket is full again but never fuller than the burst.
        let later = start + .seconds(60)
        #expect((0..<10).map { _ in limiter.allow("10.0.0.1", now: later) }.allSatisfy { $0 })
        let overBurst = limiter.allow("10.0.0.1", now: later)
        #expect(!overBurst)
    }

    @Test("a rate of 0 means no limit")
    func unlimited() {
        var limiter = RateLimiter(ratePerSecond: 0)
        #expect((0..<10_000).allSatisfy { _ in limiter.allow("a", now: start) })
    }
}
