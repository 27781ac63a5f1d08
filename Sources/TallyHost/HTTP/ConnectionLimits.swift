import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import TallyCore

/// The activation port's limits, from the settings: open connections, idle and read timeouts, requests per
/// address per second.
public struct ConnectionLimits: Sendable {
    public var maxConnections: Int
    /// Open connections from one address block (IPv6 per /64) at most; `nil` for no such limit.
    public var maxConnectionsPerAddress: Int?
    public var idleTimeout: TimeAmount
    public var readTimeout: TimeAmount
    /// Requests per second from one address; 0 means no limit.
    public var ratePerAddress: Int

    public init(maxConnections: Int = 10_000, maxConnectionsPerAddress: Int? = nil, idleTimeout: TimeAmount = .seconds(60),
                readTimeout: TimeAmount = .seconds(10), ratePerAddress: Int = 1000) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
        self.ratePerAddress = ratePerAddress
    }

    public init(settings: HostSettings) {
        self.init(maxConnections: settings.maxConnections, maxConnectionsPerAddress: settings.maxConnectionsPerAddress,
                  idleTimeout: .seconds(Int64(settings.idleTimeoutSeconds)),
                  readTimeout: .seconds(Int64(settings.readTimeoutSeconds)), ratePerAddress: settings.rateLimitPerAddress)
    }
}

/// Counts open connections across event loops, in all and per address block, and refuses those over a limit.
final class ConnectionGate: Sendable {
    struct Open: Sendable {
        var total = 0
        var byBlock: [AddressBlock: Int] = [:]
    }

    enum Refusal: Sendable, Equatable {
        /// The host holds as many connections as it may.
        case full
        /// The connection's address block holds as many as one block may.
        case addressFull
    }

    private let open = NIOLockedValueBox(Open())
    let limit: Int
    let perAddress: Int?

    init(limit: Int, perAddress: Int? = nil) {
        self.limit = limit
        self.perAddress = perAddress
    }

    /// Takes a slot for a connection from `block`; the refusal when there is none.
    func enter(_ block: AddressBlock?) -> Refusal? {
        open.withLockedValue { open in
            if let perAddress, let block, open.byBlock[block, default: 0] >= perAddress { return .addressFull }
            guard open.total < limit else { return .full }
            open.total += 1
            if perAddress != nil, let block { open.byBlock[block, default: 0] += 1 }
            return nil
        }
    }

    func leave(_ block: AddressBlock?) {
        open.withLockedValue { open in
            open.total -= 1
            guard perAddress != nil, let block, let count = open.byBlock[block] else { return }
            open.byBlock[block] = count > 1 ? count - 1 : nil
        }
    }

    var current: Int { open.withLockedValue { $0.total } }
}

/// A token bucket per client address: `rate` requests per second, bursts of twice that. Time is an input.
struct RateLimiter: Sendable {
    struct Bucket: Sendable {
        var tokens: Double
        var updated: NIODeadline
    }

    let rate: Double
    let burst: Double
    private(set) var buckets: [String: Bucket] = [:]

    init(ratePerSecond: Int) {
        rate = Double(ratePerSecond)
        burst = Double(max(1, ratePerSecond * 2))
    }

    /// Whether a request from `address` at `now` may go ahead; takes a token when it may.
    mutating func allow(_ address: String, now: NIODeadline) -> Bool {
        guard rate > 0 else { return true }
        var bucket = buckets[address] ?? Bucket(tokens: burst, updated: now)
        let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
        bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * rate)
        bucket.updated = now
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        buckets[address] = bucket
        if buckets.count > 100_000 { forgetFull(now: now) }
        return allowed
    }

    /// Drops buckets that have refilled completely: they hold no information.
    private mutating func forgetFull(now: NIODeadline) {
        buckets = buckets.filter { Double((now - $0.value.updated).nanoseconds) / 1e9 * rate + $0.value.tokens < burst }
    }
}

/// The rate limiter shared by every event loop.
final class SharedRateLimiter: Sendable {
    private let limiter: NIOLockedValueBox<RateLimiter>

    init(ratePerSecond: Int) { limiter = NIOLockedValueBox(RateLimiter(ratePerSecond: ratePerSecond)) }

    func allow(_ address: String) -> Bool {
        limiter.withLockedValue { $0.allow(address, now: .now()) }
    }
}

extension SocketAddress {
    /// The address without the port: what rate limiting counts by.
    var hostOnly: String { ipAddress ?? description }
}

extension ConnectionGate {
    /// Sets up one accepted connection of a limited HTTP/1.1 port (activation or admin): over the limit it only
    /// answers 503; else the read and idle timers, HTTP with capped headers, and `handler` last.
    func configure(_ channel: any Channel, limits: ConnectionLimits, handler: () -> any ChannelHandler) throws {
        let pipeline = channel.pipeline.syncOperations
        let block = channel.remoteAddress.map { AddressBlock(address: $0.hostOnly) }
        if let refusal = enter(block) {
            try pipeline.addHandler(RefuseConnectionHandler(refusal))
            return
        }
        channel.closeFuture.whenComplete { _ in self.leave(block) }
        let timeouts = RequestTimeoutHandler(timers: ConnectionTimers(idleTimeout: limits.idleTimeout, readTimeout: limits.readTimeout))
        try pipeline.addHandler(timeouts)
        try pipeline.configureHTTPServerPipeline(
            withErrorHandling: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: HostServer.headerLimits)
        try pipeline.addHandler(RequestCompleteHandler(timeouts: timeouts))
        try pipeline.addHandler(handler())
    }
}
