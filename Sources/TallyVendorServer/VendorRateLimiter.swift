import NIOConcurrencyHelpers

/// Per-address rate limit as a virtual schedule (the generic cell rate algorithm): each address has a time at
/// which its next request is "due"; a request may run ahead of that by at most `burst` intervals. One number per
/// address, and the clock is an input, so tests freeze time.
final class VendorRateLimiter: Sendable {
    private struct State {
        var due: [String: Double] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let interval: Double
    private let tolerance: Double
    private let clock: @Sendable () -> Double

    /// `rate` requests per second on average (0: no limit), `burst` at once; `clock` in seconds.
    init(rate: Double, burst: Int, clock: @escaping @Sendable () -> Double) {
        interval = rate > 0 ? 1 / rate : 0
        tolerance = interval * Double(max(1, burst) - 1)
        self.clock = clock
    }

    /// Whether a request from `address` may go ahead now; counts it when it may.
    func allow(_ address: String) -> Bool {
        guard interval > 0 else { return true }
        let now = clock()
        return state.withLockedValue { state in
            let due = max(state.due[address] ?? now, now)
            guard due - now <= tolerance else { return false }
            state.due[address] = due + interval
            if state.due.count > 50_000 { state.due = state.due.filter { $0.value > now } }
            return true
        }
    }
}
