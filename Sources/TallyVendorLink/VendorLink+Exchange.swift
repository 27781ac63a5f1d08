import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import TallyCore

/// A whole answer: status and body.
struct VendorHTTPResponse: Sendable {
    var status: Int
    var body: [UInt8]
}

/// Why an exchange failed before an answer arrived; mapped to a ``TallyError`` by where it happened.
enum ExchangeFailure: Error {
    case timedOut
    case closedEarly
    case answerTooLarge
    case proxyRefused(String)
}

extension VendorLink {
    /// Largest answer read: a certificate and the root statements are a few KiB.
    static let maximumAnswerBytes = 1 << 20

    /// One request on a new connection: TCP to the vendor or the proxy, the tunnel, TLS, HTTP/1.1.
    static func exchange(method: HTTPMethod, path: String, body: [UInt8], at url: VendorURL,
                         settings: VendorConnectionSettings) async throws(TallyError) -> VendorHTTPResponse {
        let proxy = settings.proxy.proxy(for: url)
        if proxy != nil, url.hostIsIPAddress {
            throw TallyError(.usageError, "\(url) names an IP address, whose certificate cannot be checked through a proxy",
                             remedy: "Use the vendor's host name, or add it to NO_PROXY to connect directly.")
        }
        let tls = try url.secure ? clientContext(caFile: settings.caFile) : nil
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: VendorHTTPResponse.self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "host", value: url.authority)
        head.headers.add(name: "user-agent", value: "tally-host/1")
        head.headers.add(name: "accept", value: "application/json")
        head.headers.add(name: "connection", value: "close")
        if method == .POST {
            head.headers.add(name: "content-type", value: "application/json")
            head.headers.add(name: "content-length", value: String(body.count))
        }
        let request = head
        let serverName = url.hostIsIPAddress ? nil : url.host
        let install: @Sendable (any Channel) throws -> Void = { channel in
            let pipeline = channel.pipeline.syncOperations
            if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
            try pipeline.addHTTPClientHandlers()
            try pipeline.addHandler(ExchangeHandler(head: request, body: body, promise: promise, limit: maximumAnswerBytes))
        }
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let proxy {
                        try channel.pipeline.syncOperations.addHandler(
                            TunnelHandler(target: url.authority, authorization: proxy.authorization, promise: promise, then: install))
                    } else {
                        try install(channel)
                    }
                }
            }
        let target = proxy.map { (host: $0.host, port: $0.port) } ?? (host: url.host, port: url.port)
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            promise.fail(error)
            throw connectError(error, url: url, proxy: proxy)
        }
        let timer = channel.eventLoop.scheduleTask(in: settings.requestTimeout) {
            promise.fail(ExchangeFailure.timedOut)
            channel.close(promise: nil)
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        do {
            // Cancelled (a serving host shutting down while it waits for the vendor): the exchange ends now.
            return try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(CancellationError())
                channel.close(promise: nil)
            }
        } catch is CancellationError {
            throw TallyError(.vendorUnreachable, "the exchange with \(url.authority) was cancelled (the host is shutting down)")
        } catch {
            throw exchangeError(error, url: url, proxy: proxy, timeout: settings.requestTimeout)
        }
    }

    /// TLS 1.2 or later, full verification (chain and host name) against the system's roots or `caFile`.
    static func clientContext(caFile: String?) throws(TallyError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        do {
            if let caFile {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw TallyError(.usageError, "--vendor-ca \(caFile) holds no PEM certificate") }
                configuration.trustRoots = .certificates(roots)
            }
            return try NIOSSLContext(configuration: configuration)
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.usageError, "the CA file \(caFile ?? "-") could not be used: \(error)",
                             remedy: "Give --vendor-ca a PEM file of the CA certificate(s) that issued the vendor's TLS certificate.")
        }
    }

    static func connectError(_ error: any Error, url: VendorURL, proxy: ProxySettings.Server?) -> TallyError {
        let timedOut = (error as? ChannelError).map { if case .connectTimeout = $0 { true } else { false } } ?? false
        if let proxy {
            return TallyError(.proxyFailed, "could not connect to the proxy \(proxy.host):\(proxy.port) (from HTTPS_PROXY): \(describe(error))")
        }
        if timedOut {
            return TallyError(.vendorTimeout, "no TCP connection to \(url.authority) within the connect timeout")
        }
        return TallyError(.vendorUnreachable, "could not connect to \(url.authority): \(describe(error))")
    }

    static func exchangeError(_ error: any Error, url: VendorURL, proxy: ProxySettings.Server?, timeout: TimeAmount) -> TallyError {
        switch error {
        case ExchangeFailure.timedOut:
            let seconds = Double(timeout.nanoseconds) / 1e9
            return TallyError(.vendorTimeout, "\(proxy.map { "the proxy \($0.host):\($0.port) or " } ?? "")\(url.authority) accepted the connection but sent no whole answer within \(seconds.formatted()) s")
        case ExchangeFailure.proxyRefused(let status):
            return TallyError(.proxyFailed, "the proxy \(proxy.map { "\($0.host):\($0.port)" } ?? "") refused to open a tunnel to \(url.authority): \(status)")
        case ExchangeFailure.answerTooLarge:
            return TallyError(.vendorAnswerInvalid, "\(url) sent an answer larger than \(maximumAnswerBytes) bytes")
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return TallyError(.vendorTLSRejected, "the vendor's TLS certificate is not for \(url.host): \(error)")
        case let error as NIOSSLError:
            return TallyError(.vendorTLSRejected, "the TLS handshake with \(url.authority) failed (\(describe(error))): the certificate is not issued by a CA this host trusts, has expired, or is not for \(url.host)")
        default:
            if case ExchangeFailure.closedEarly = error, proxy != nil {
                return TallyError(.proxyFailed, "the connection through the proxy to \(url.authority) closed before an answer")
            }
            return TallyError(.vendorUnreachable, "the connection to \(url.authority) failed before an answer: \(describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if case ExchangeFailure.closedEarly = error { return "the connection closed before an answer" }
        return String(describing: error)
    }
}

/// Sends one request when added and collects the answer into `promise`.
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let body: [UInt8]
    private let promise: EventLoopPromise<VendorHTTPResponse>
    private let limit: Int
    private var status = 0
    private var collected: [UInt8] = []

    init(head: HTTPRequestHead, body: [UInt8], promise: EventLoopPromise<VendorHTTPResponse>, limit: Int) {
        self.head = head
        self.body = body
        self.promise = promise
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    private var sent = false

    private func send(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(response):
            status = Int(response.status.code)
        case let .body(buffer):
            guard collected.count + buffer.readableBytes <= limit else {
                promise.fail(ExchangeFailure.answerTooLarge)
                context.close(promise: nil)
                return
            }
            collected.append(contentsOf: buffer.readableBytesView)
        case .end:
            promise.succeed(VendorHTTPResponse(status: status, body: collected))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ExchangeFailure.closedEarly)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}

/// Opens a `CONNECT` tunnel through the proxy, then hands the channel to `then` (TLS and HTTP to the vendor).
final class TunnelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let target: String
    private let authorization: String?
    private let promise: EventLoopPromise<VendorHTTPResponse>
    private let then: @Sendable (any Channel) throws -> Void
    private var received: [UInt8] = []
    private var requested = false

    init(target: String, authorization: String?, promise: EventLoopPromise<VendorHTTPResponse>, then: @escaping @Sendable (any Channel) throws -> Void) {
        self.target = target
        self.authorization = authorization
        self.promise = promise
        self.then = then
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { request(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        request(context: context)
        context.fireChannelActive()
    }

    private func request(context: ChannelHandlerContext) {
        guard !requested else { return }
        requested = true
        var text = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let authorization { text += "Proxy-Authorization: \(authorization)\r\n" }
        text += "\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if received.count > 16 * 1024 {
                promise.fail(ExchangeFailure.proxyRefused("its answer to CONNECT has more than 16 KiB of headers"))
                context.close(promise: nil)
            }
            return
        }
        let statusLine = String(decoding: received[..<(received.firstRange(of: Array("\r\n".utf8))?.lowerBound ?? end.lowerBound)], as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1] == "200" else {
            promise.fail(ExchangeFailure.proxyRefused(Sanitize.terminal(statusLine.isEmpty ? "no status line" : statusLine)))
            context.close(promise: nil)
            return
        }
        guard end.upperBound == received.count else {
            // The vendor speaks only after the host's TLS hello: bytes after the proxy's answer are not the vendor's.
            promise.fail(ExchangeFailure.proxyRefused("the proxy sent data after its answer to CONNECT"))
            context.close(promise: nil)
            return
        }
        // TLS and HTTP go in behind this handler, which then leaves: the vendor's bytes reach TLS directly.
        do {
            try then(context.channel)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            promise.fail(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ExchangeFailure.proxyRefused("it closed the connection before answering CONNECT"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
