import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore

/// The activation port: SwiftNIO HTTP/1.1 on the address of the settings, one event loop per core.
///
/// Stopping drains it: a new connection is answered 503 and ended, a request that arrives on an open connection
/// is answered 503 and its connection closed, requests already read get their committed answers, and idle
/// connections are half-closed (the client reads the end of the stream, never a reset). The listener closes at
/// the end of the drain, and later connections are refused. (Closing it first would reset every connection
/// still in its listen queue.)
public final class HostServer: Sendable {
    public let address: BindAddress
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    let port: PortState

    /// Request headers are capped: an activation request needs a few hundred bytes of headers, so 8 KiB in at
    /// most 64 fields is generous; more is answered 400 and the connection closed.
    public static let headerLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 8 * 1024
        limits.maxHeaderListSize = 8 * 1024
        limits.maxHeaderFieldCount = 64
        return limits
    }()

    /// Binds and starts accepting. `[::]` also accepts IPv4 (dual stack); where IPv6 is missing it falls back
    /// to `0.0.0.0`.
    public static func start(address: BindAddress, pipeline: CommitPipeline, logger: Logger,
                             threads: Int = System.coreCount, limits: ConnectionLimits = ConnectionLimits()) async throws -> HostServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let port = PortState()
        let gate = ConnectionGate(limit: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress)
        let limiter = SharedRateLimiter(ratePerSecond: limits.ratePerAddress)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptErrorLogger(logger: logger, port: "activation")) }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    port.opened(channel)
                    if port.isDraining {
                        // Stopping: the listener stays open until the end of the drain, so a new connection is
                        // answered 503 instead of being reset in the listen queue when it closes.
                        try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler.stopping())
                        return
                    }
                    try gate.configure(channel, limits: limits) {
                        ActivationHTTPHandler(pipeline: pipeline, limiter: limiter, port: port, logger: logger)
                    }
                }
            }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        do {
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(host: host, port: address.port).get()
            } catch where host == "::" {
                logger.warning("IPv6 is not available; listening on IPv4 only", metadata: ["error": "\(error)"])
                channel = try await bootstrap.bind(host: "0.0.0.0", port: address.port).get()
            }
            let bound = BindAddress(host: channel.localAddress?.ipAddress ?? host, port: channel.localAddress?.port ?? address.port)
            return HostServer(address: bound, channel: channel, group: group, port: port)
        } catch {
            try? await group.shutdownGracefully()
            throw TallyError(.usageError, "could not listen on \(address): \(error)",
                             remedy: "Choose a free address with `tally host set listen ADDR:PORT` or `--listen`; ports below 1024 need privileges.")
        }
    }

    private init(address: BindAddress, channel: any Channel, group: MultiThreadedEventLoopGroup, port: PortState) {
        self.address = address
        self.channel = channel
        self.group = group
        self.port = port
    }

    /// Drains: answers what was read, answers new connections 503, waits up to `grace` for idle connections to
    /// end, then closes the listener (later connections are refused), the rest and the event loops.
    ///
    /// A request already read is never cut off by the grace: its commit may wait for the store (up to the store's
    /// busy timeout, 5 s, and then it is answered 503), so the drain waits for every answer, up to `answerLimit`
    /// in case the store never returns.
    public func drain(grace: Duration = .seconds(2), answerLimit: Duration = .seconds(30)) async {
        port.startDraining()
        for connection in port.openChannels { connection.pipeline.fireUserInboundEventTriggered(DrainEvent()) }
        let started = ContinuousClock.now
        // Shutdown only: polled, so no connection has to tell anyone it ended.
        while true {
            let load = port.load, waited = started.duration(to: .now)
            if load == (0, 0) || (load.inFlight == 0 && waited >= grace) || waited >= max(grace, answerLimit) { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
        // Closed last: until now a new connection was accepted and answered 503 (see the child initializer).
        try? await channel.close()
        for connection in port.openChannels { try? await connection.close() }
        try? await group.shutdownGracefully()
    }

    /// Stops at once (tests of a host that never served).
    public func shutdown() async {
        await drain(grace: .zero)
    }
}

/// Sent through every connection's pipeline when the port starts draining.
struct DrainEvent: Sendable {}

/// Answers a connection over the limit with 503 before any HTTP is read, and ends it without a reset.
///
/// Closing at once would reset the connection as soon as the client's request arrives at a closed socket, and
/// a client that reads after it sent sees the reset, not the 503. So the answer is followed by the end of the
/// stream (a half-close); what the client sends is read and dropped until it closes its side, or for
/// ``linger`` at most.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    static let linger: TimeAmount = .seconds(2)
    let message: String
    let code: ResultCode

    init(code: ResultCode, message: String) {
        self.code = code
        self.message = message
    }

    /// A port that is stopping: the code a request refused while draining gets.
    static func stopping() -> RefuseConnectionHandler {
        RefuseConnectionHandler(code: .storeUnavailable, message: "the host is shutting down; retry with another host or later")
    }

    init(_ refusal: ConnectionGate.Refusal = .full) {
        code = .hostBusy
        message = switch refusal {
        case .full: "the host has as many connections as it allows; retry later"
        case .addressFull: "this address (an IPv6 address by its /64) has as many connections open as the host allows one address (max-connections-per-address); close some or retry later"
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        let body = #"{"code":"\#(code.hex)","message":"\#(message)"}"#
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(mode: .output, promise: nil) }
        // The client's end of the stream closes the channel (remote half-closure is not allowed on these ports).
        context.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
