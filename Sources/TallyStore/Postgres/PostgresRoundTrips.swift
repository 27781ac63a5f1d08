import NIOCore

/// Round trips to PostgreSQL, counted on the sockets of every session: each flush of bytes towards the server.
///
/// PostgresNIO writes a query (Parse, Bind, Describe, Execute, Sync) in one write and flushes it once, then waits
/// for the server's ReadyForQuery before the session's next query; so a flush is one round trip. The startup
/// and authentication exchanges count too (they are round trips), and so does the Terminate sent when a session
/// closes (it waits for nothing; one per session closed). With TLS the handler sits below it and counts the
/// flushes of the encrypted bytes, one per flush above.
public final class PostgresRoundTrips: Sendable {
    private let count = LockedValue(0)

    public init() {}

    /// Round trips so far, of every session this store has opened.
    public var total: Int { count.withLock { $0 } }

    func add() { count.withLock { $0 += 1 } }

    /// The handler that counts them, first in a session's channel (next to the socket).
    func handler() -> Counter { Counter(self) }

    final class Counter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = NIOAny
        let trips: PostgresRoundTrips

        init(_ trips: PostgresRoundTrips) { self.trips = trips }

        func flush(context: ChannelHandlerContext) {
            trips.add()
            context.flush()
        }
    }
}
