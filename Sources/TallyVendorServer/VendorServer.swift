import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TallyCore
import TallyVendor

/// `tally vendor serve`: the vendor's online authority over HTTPS (swift-nio-ssl), or plain HTTP on loopback
/// behind a TLS-terminating proxy. Host activation, certificate renewal, usage reports with signed receipts, and
/// a health endpoint; JSON `{code, message}` errors; body cap, timeouts, a connection limit and a per-address
/// rate limit.
///
/// ``bind(configuration:authority:logger:)`` listens (so the port is known before any request), ``run()``
/// accepts until ``shutdown()``.
public final class VendorServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// The address actually bound (port 0 resolved).
    public let host: String
    public let port: Int
    public var secure: Bool { tlsFiles != nil }
    private let tls: TLSContextBox
    private let tlsFiles: VendorServerConfiguration.TLSFiles?
    private let listener: NIOAsyncChannel<Connection, Never>
    let router: VendorRouter
    let connections: OpenConnections
    let maxBodyBytes: Int
    let trustForwardedFor: Bool

    /// Request headers are small: a few hundred bytes; 8 KiB in at most 48 fields is generous.
    static let headerLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 8 * 1024
        limits.maxHeaderListSize = 8 * 1024
        limits.maxHeaderFieldCount = 48
        return limits
    }()

    /// Checks the configuration, loads the TLS certificate and key, and binds. `now` and `rateClock` are inputs
    /// for tests; by default the wall clock and the monotonic clock.
    public static func bind(configuration: VendorServerConfiguration, authority: VendorAuthority, logger: Logger,
                            now: @escaping @Sendable () -> Date = { Date() },
                            rateClock: @escaping @Sendable () -> Double = { Double(NIODeadline.now().uptimeNanoseconds) / 1e9 }) async throws -> VendorServer {
        try configuration.validate()
        // The online root must be here before anything is served; the offline root is never read.
        _ = try authority.activeSigner(.online)
        _ = try authority.catalog()
        _ = try authority.openLedger()
        let tls = TLSContextBox(try configuration.tls.map { try VendorTLS.serverContext($0) })
        let connections = OpenConnections(limit: configuration.maxConnections)
        let idle = configuration.idleTimeout, read = configuration.readTimeout
        let listener: NIOAsyncChannel<Connection, Never>
        do {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: configuration.host == "localhost" ? "127.0.0.1" : configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if let context = tls.current { try pipeline.addHandler(NIOSSLServerHandler(context: context)) }
                        try pipeline.configureHTTPServerPipeline(withErrorHandling: true, withEncoderConfiguration: .init(),
                                                                  withDecoderLimitConfiguration: Self.headerLimits)
                        try pipeline.addHandler(VendorTimeoutHandler(idleTimeout: idle, readTimeout: read))
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw TallyError(.usageError, "could not listen on \(configuration.host):\(configuration.port): \(error)",
                             remedy: "Choose a free address with --listen ADDR:PORT; ports below 1024 need privileges.")
        }
        let limiter = VendorRateLimiter(rate: configuration.ratePerAddress, burst: configuration.burstPerAddress, clock: rateClock)
        let router = VendorRouter(authority: authority, configuration: configuration, limiter: limiter, logger: logger, now: now)
        let address = listener.channel.localAddress
        return VendorServer(host: address?.ipAddress ?? configuration.host, port: address?.port ?? configuration.port, tls: tls,
                            tlsFiles: configuration.tls, listener: listener, router: router, connections: connections,
                            maxBodyBytes: configuration.maxBodyBytes, trustForwardedFor: configuration.trustForwardedFor)
    }

    private init(host: String, port: Int, tls: TLSContextBox, tlsFiles: VendorServerConfiguration.TLSFiles?, listener: NIOAsyncChannel<Connection, Never>,
                 router: VendorRouter, connections: OpenConnections, maxBodyBytes: Int, trustForwardedFor: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
        self.tlsFiles = tlsFiles
        self.listener = listener
        self.router = router
        self.connections = connections
        self.maxBodyBytes = maxBodyBytes
        self.trustForwardedFor = trustForwardedFor
    }

    /// `https://HOST:PORT` (or `http://` without TLS) as a host would name this service.
    public var url: String {
        (secure ? "https://" : "http://") + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    /// The queue the service's tasks run on (not the cooperative pool, see ``DispatchTaskExecutor``); a caller that
    /// starts ``run()`` in a task of its own can start it there too.
    package static let executor = DispatchTaskExecutor(label: "tally.vendor", concurrent: true)

    /// Accepts connections until ``shutdown()``; each is served in its own child task, its errors caught there.
    public func run() async throws {
        try await withTaskExecutorPreference(VendorServer.executor) {
            try await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        }
    }

    /// Loads the TLS certificate and key again (after the certificate was renewed); new connections use them.
    /// A pair that cannot be used is refused and the previous one stays.
    public func reloadTLS() throws(TallyError) {
        guard let tlsFiles else { return }
        tls.current = try VendorTLS.serverContext(tlsFiles)
    }

    /// Stops accepting and closes every open connection; ``run()`` then returns.
    public func shutdown() async {
        try? await listener.channel.close()
        connections.closeAll()
    }
}

/// The TLS context new connections use; replaced by ``VendorServer/reloadTLS()``.
final class TLSContextBox: Sendable {
    private let box: NIOLockedValueBox<NIOSSLContext?>

    init(_ context: NIOSSLContext?) { box = NIOLockedValueBox(context) }

    var current: NIOSSLContext? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}

/// The open connections: counted against the limit, and closed at shutdown.
final class OpenConnections: Sendable {
    private let open = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Admits `channel`; `false` when the limit is reached (the connection is answered 503 and closed).
    func admit(_ channel: any Channel) -> Bool {
        open.withLockedValue { open in
            guard open.count < limit else { return false }
            open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func leave(_ channel: any Channel) {
        _ = open.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func closeAll() {
        for channel in open.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}
