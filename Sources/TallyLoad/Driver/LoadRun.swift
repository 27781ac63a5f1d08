import CTallyLoad

#if canImport(Glibc)
import Glibc
#endif

/// The state of one run of ``LoadDriver``: an epoll loop over the connections, with a timerfd for the paced
/// schedule (epoll's own timeout is in milliseconds, too coarse to send on time).
final class LoadRun {
    let configuration: LoadConfiguration
    let epoll: Int32
    let timer: Int32
    let connections: [LoadConnection]
    let events: UnsafeMutablePointer<epoll_event>
    let eventCapacity: Int32 = 64
    static let timerToken = UInt64.max

    var random = SplitMix64()
    var scratch: [UInt8] = []
    var latencies: [Double] = []
    var statuses: [Int: Int] = [:]
    var results: [UInt32: Int] = [:]
    var formats: [ActivationAnswer.Format: Int] = [:]
    var unreadable = 0
    var errors: [String: Int] = [:]
    var grantCounts: [Int] = []

    var issued = 0
    var inFlight = 0
    var stopping = false
    /// Connections with nothing in flight that may take a request.
    var idle: [Int] = []
    var start = 0.0
    var deadline = 0.0
    var lastAnswer = 0.0
    /// Paced: the number of requests scheduled so far, and when the next one is due.
    var scheduled = 0
    var nextDue = 0.0
    var timerArmedFor = -1.0
    var lastTimeoutCheck = 0.0

    init(_ configuration: LoadConfiguration) throws(LoadError) {
        self.configuration = configuration
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw LoadError(description: "epoll_create1 failed: errno \(errno)") }
        if configuration.rate != nil {
            timer = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
            guard timer >= 0 else {
                close(epoll)
                throw LoadError(description: "timerfd_create failed: errno \(errno)")
            }
            // Edge-triggered: every expiry wakes the loop once, with no read of the timer needed.
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLET.rawValue
            event.data.u64 = Self.timerToken
            epoll_ctl(epoll, EPOLL_CTL_ADD, timer, &event)
        } else {
            timer = -1
        }
        let template = configuration.template.bytes
        connections = (0..<max(1, configuration.connections)).map { _ in LoadConnection(template: template) }
        events = .allocate(capacity: Int(eventCapacity))
    }

    deinit {
        close(epoll)
        if timer >= 0 { close(timer) }
        events.deallocate()
    }

    var paced: Bool { configuration.rate != nil }

    func run() -> LoadResult {
        let expected = Int(configuration.duration * 20_000)
        latencies.reserveCapacity(min(configuration.requestLimit ?? expected, 2_000_000))
        grantCounts.reserveCapacity(min(configuration.requestLimit ?? expected, 2_000_000))
        let probe = StallProbe()
        let cpuStart = Clocks.threadCPU()
        let userStart = Clocks.threadUserCPU()
        start = Clocks.monotonic()
        deadline = start + configuration.duration
        lastAnswer = start
        lastTimeoutCheck = start
        nextDue = start
        for index in connections.indices {
            if paced { idle.append(index) } else { issue(index, began: start) }
        }
        loop()
        let machine = probe.stop()
        let elapsed = max(lastAnswer - start, 1e-9)
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            // Nearest rank: the smallest latency at or above which lie p of the answers.
            let rank = Int((p * Double(latencies.count)).rounded(.up))
            return latencies[min(latencies.count - 1, max(0, rank - 1))]
        }
        for connection in connections where connection.fd >= 0 {
            close(connection.fd)
            connection.fd = -1
        }
        return LoadResult(answers: latencies.count, seconds: elapsed, p50: percentile(0.5), p99: percentile(0.99),
                          max: latencies.last ?? 0, over2Milliseconds: latencies.count - (latencies.firstIndex { $0 > 0.002 } ?? latencies.count),
                          statuses: statuses, results: results, formats: formats, unreadable: unreadable,
                          errors: errors, grantCounts: grantCounts, driverCPUSeconds: Clocks.threadCPU() - cpuStart,
                          driverUserCPUSeconds: Clocks.threadUserCPU() - userStart, machine: machine)
    }

    var mayIssue: Bool {
        !stopping && (configuration.requestLimit.map { issued < $0 } ?? true)
    }

    func loop() {
        while true {
            var now = Clocks.monotonic()
            if !stopping, now >= deadline || !mayIssue { stopping = true }
            if stopping, inFlight == 0 { return }
            if !stopping, !idle.isEmpty { issueIdle(now: now) }
            if now - lastTimeoutCheck > 0.05 {
                lastTimeoutCheck = now
                expire(now: now)
            }
            var wait = 0.1
            if !stopping {
                wait = min(wait, deadline - now)
                if let retry = idle.lazy.map({ self.connections[$0].retryAt }).filter({ $0 > now }).min() { wait = min(wait, retry - now) }
                if paced, !idle.isEmpty { armTimer(nextDue) }
            }
            let count = epoll_wait(epoll, events, eventCapacity, Int32(max(0, (wait * 1000).rounded(.up))))
            now = Clocks.monotonic()
            guard count > 0 else { continue }
            for slot in 0..<Int(count) {
                let event = events[slot]
                guard event.data.u64 != Self.timerToken else { continue }
                handle(Int(event.data.u64), events: event.events, now: now)
            }
        }
    }

    /// Gives requests to idle connections: paced, the ones now due; else one each.
    func issueIdle(now: Double) {
        if paced {
            var position = 0
            while nextDue <= now, mayIssue, position < idle.count {
                let index = idle[position]
                if connections[index].retryAt > now {
                    position += 1
                    continue
                }
                idle.remove(at: position)
                let due = nextDue
                advanceSchedule()
                issue(index, began: due)
            }
        } else {
            var position = 0
            while mayIssue, position < idle.count {
                let index = idle[position]
                if connections[index].retryAt > now {
                    position += 1
                    continue
                }
                idle.remove(at: position)
                issue(index, began: now)
            }
        }
    }

    func advanceSchedule() {
        scheduled += 1
        nextDue = start + Double(scheduled) / (configuration.rate ?? 1)
    }

    func armTimer(_ at: Double) {
        guard at != timerArmedFor else { return }
        timerArmedFor = at
        var spec = itimerspec()
        let whole = at.rounded(.down)
        spec.it_value.tv_sec = Int(whole)
        spec.it_value.tv_nsec = max(1, Int((at - whole) * 1e9))
        timerfd_settime(timer, Int32(TFD_TIMER_ABSTIME), &spec, nil)
    }

    /// After an answer or an error: the connection's next request, now, when due, or never.
    func next(_ index: Int, now: Double) {
        guard mayIssue else { return }
        if paced {
            if nextDue <= now, connections[index].retryAt <= now {
                let due = nextDue
                advanceSchedule()
                issue(index, began: due)
            } else {
                idle.append(index)
            }
        } else if connections[index].retryAt <= now {
            issue(index, began: now)
        } else {
            idle.append(index)
        }
    }
}
