import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore

/// The admin port: SwiftNIO HTTP/1.1 on its own single event loop, beside (never inside) the activation port.
/// Routes run on a small thread pool because they read the store.
public final class AdminServer: Sendable {
    public let address: BindAddress
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool

    /// Bodies are small: a login form.
    static let maximumBodyBytes = 16 * 1024

    public static func start(address: BindAddress, router: AdminRouter, logger: Logger) async throws -> AdminServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true, withEncoderConfiguration: .init(), withDecoderLimitConfiguration: HostServer.headerLimits)
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(router: router, pool: pool))
                }
            }
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        do {
            let channel = try await bootstrap.bind(host: host, port: address.port).get()
            let bound = BindAddress(host: channel.localAddress?.ipAddress ?? host, port: channel.localAddress?.port ?? address.port)
            logger.info("admin interface listening", metadata: ["address": "\(bound)", "token": "\(router.context.access.requiresToken)"])
            return AdminServer(address: bound, channel: channel, group: group, pool: pool)
        } catch {
            try? await group.shutdownGracefully()
            try? await pool.shutdownGracefully()
            throw TallyError(.usageError, "the admin interface could not listen on \(address): \(error)",
                             remedy: "Choose a free address with `tally host set admin-listen ADDR:PORT` or `--admin-listen`.")
        }
    }

    private init(address: BindAddress, channel: any Channel, group: MultiThreadedEventLoopGroup, pool: NIOThreadPool) {
        self.address = address
        self.channel = channel
        self.group = group
        self.pool = pool
    }

    public func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
        try? await pool.shutdownGracefully()
    }
}
