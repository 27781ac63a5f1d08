import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore

/// The admin port: SwiftNIO HTTP/1.1 on its own single event loop, beside (never inside) the activation port.
/// Routes run in tasks: they read the store, which answers asynchronously.
///
/// Like the activation port it holds at most `limits.maxConnections` connections (64 by default; more get 503
/// and are closed), wants a request whole within the read timeout (408) and closes connections idle longer than
/// the idle timeout, so nobody who can connect can hold its sockets or threads.
public final class AdminServer: Sendable {
    public let address: BindAddress
    /// Who may use it; its token is re-read on SIGHUP.
    public let access: AdminAccess
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup

    /// Bodies are small: a login form.
    static let maximumBodyBytes = 16 * 1024

    /// 64 connections (one admin, a browser, a Prometheus scraper need a few), the activation port's default
    /// timeouts: idle 60 s, read 10 s. The rate limit does not apply here.
    public static let defaultLimits = ConnectionLimits(maxConnections: 64, idleTimeout: .seconds(60), readTimeout: .seconds(10), ratePerAddress: 0)

    public static func start(address: BindAddress, router: AdminRouter, logger: Logger,
                             limits: ConnectionLimits = AdminServer.defaultLimits) async throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Routes read the store: their tasks run on a queue of the admin port's own, not the cooperative pool.
        let executor = DispatchTaskExecutor(label: "tally.admin", concurrent: true)
        let gate = ConnectionGate(limit: limits.maxConnections)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try gate.configure(channel, limits: limits) { AdminHTTPHandler(router: router, executor: executor) }
                }
            }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        do {
            let channel = try await bootstrap.bind(host: host, port: address.port).get()
            let bound = BindAddress(host: channel.localAddress?.ipAddress ?? host, port: channel.localAddress?.port ?? address.port)
            logger.info("admin interface listening", metadata: ["address": "\(bound)", "token": "\(router.context.access.requiresToken)"])
            return AdminServer(address: bound, access: router.context.access, channel: channel, group: group)
        } catch {
            try? await group.shutdownGracefully()
            let reason = (error as? IOError).map { $0.errnoCode == EADDRINUSE ? "the address is taken (another program, or another host, listens there)" : "\($0)" } ?? "\(error)"
            throw TallyError(.usageError, "the admin interface could not listen on \(address): \(reason)",
                             remedy: "Choose a free address with `tally host set admin-listen ADDR:PORT` or `--admin-listen`.")
        }
    }

    private init(address: BindAddress, access: AdminAccess, channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.address = address
        self.access = access
        self.channel = channel
        self.group = group
    }

    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}
