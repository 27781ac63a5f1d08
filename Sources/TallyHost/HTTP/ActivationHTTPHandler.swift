import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TallyCore

/// The activation port's HTTP handler: `POST /v1/activate` and `GET /health`, nothing else. The body is capped
/// at ``ActivationRequestBody/maximumBodyBytes``; anything malformed gets a JSON `{code, message}` and the
/// connection stays usable for the next request.
final class ActivationHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let pipeline: CommitPipeline
    private let limiter: SharedRateLimiter?
    private let port: PortState
    private var head: HTTPRequestHead?
    /// A request has started and its answer is not written yet.
    private var awaitingAnswer = false
    private var body: ByteBuffer?
    private var rejected = false
    private var rateLimited = false

    private let logger: Logger

    init(pipeline: CommitPipeline, limiter: SharedRateLimiter? = nil, port: PortState, logger: Logger) {
        self.pipeline = pipeline
        self.logger = logger
        self.limiter = limiter
        self.port = port
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            self.head = head
            awaitingAnswer = true
            body = nil
            rejected = false
            rateLimited = false
            // Counted per address block: an IPv6 client rotating through its /64 is one address.
            if let limiter, let address = context.channel.remoteAddress?.hostOnly, !limiter.allow(AddressBlock(address: address).description) {
                // Answered once the request is read, so the connection stays usable.
                rateLimited = true
            }
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > ActivationRequestBody.maximumBodyBytes {
                reject(context: context, status: .payloadTooLarge, "the body is larger than \(ActivationRequestBody.maximumBodyBytes) bytes")
            }
        case var .body(chunk):
            guard !rejected, !rateLimited else { return }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
            if body!.readableBytes > ActivationRequestBody.maximumBodyBytes {
                reject(context: context, status: .payloadTooLarge, "the body is larger than \(ActivationRequestBody.maximumBodyBytes) bytes")
            }
        case .end:
            guard !rejected, let head else { return }
            if port.isDraining {
                // Stopping: a request that arrives now is refused whole, and the connection closed after it.
                write(context: context, status: .serviceUnavailable,
                      json: Self.encode(ProtocolErrorBody(code: .storeUnavailable, message: "the host is shutting down; retry with another host or later")),
                      keepAlive: false)
                return
            }
            if rateLimited {
                write(context: context, status: .tooManyRequests,
                      json: Self.encode(ProtocolErrorBody(code: .rateLimited, message: "too many requests from this address; retry after the activation interval")),
                      keepAlive: head.isKeepAlive)
                return
            }
            route(context: context, head: head)
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.POST, ProtocolPaths.activate):
            let bytes = body.map { Data($0.readableBytesView) } ?? Data()
            let request: ActivationRequest
            do {
                request = try ActivationRequest.decode(bytes, from: context.channel.remoteAddress?.description ?? "unknown")
            } catch {
                logger.info("malformed activation request", metadata: ["peer": "\(context.channel.remoteAddress?.description ?? "unknown")", "error": "\(error.message)"])
                write(context: context, status: .badRequest, json: Self.encode(ProtocolErrorBody(code: error.code, message: error.message)),
                      keepAlive: head.isKeepAlive)
                return
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let keepAlive = head.isKeepAlive
            port.requestStarted()
            pipeline.submit(request) { outcome in
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.respond(context: context, outcome: outcome, keepAlive: keepAlive)
                    handler.port.requestFinished()
                }
            }
        case (.GET, "/health"):
            write(context: context, status: .ok, json: #"{"status":"ok"}"#, keepAlive: head.isKeepAlive)
        case (_, "/health"):
            error(context: context, status: .methodNotAllowed, "use GET for /health", keepAlive: head.isKeepAlive, allow: "GET")
        case (_, ProtocolPaths.activate):
            error(context: context, status: .methodNotAllowed, "use POST for \(ProtocolPaths.activate)", keepAlive: head.isKeepAlive, allow: "POST")
        default:
            error(context: context, status: .notFound, "no such path; the activation endpoint is POST \(ProtocolPaths.activate)", keepAlive: head.isKeepAlive)
        }
    }

    /// Maps the core's typed outcome to HTTP: the answer is signed here, on the connection's event loop.
    private func respond(context: ChannelHandlerContext, outcome: RequestOutcome, keepAlive: Bool) {
        switch outcome {
        case let .decided(decided):
            do {
                write(context: context, status: .ok, json: try decided.signer.answer(decided), keepAlive: keepAlive)
            } catch {
                self.error(context: context, status: .internalServerError, "the answer could not be signed", keepAlive: keepAlive)
            }
        case .notActivated:
            // Nothing verifiable can be signed without a certificate: an unsigned 503, once the request is stored.
            write(context: context, status: .serviceUnavailable,
                  json: Self.encode(ProtocolErrorBody(code: .hostNotActivated, message: "this host has no valid certificate from the vendor")),
                  keepAlive: keepAlive)
        case let .unavailable(failure):
            write(context: context, status: .serviceUnavailable, json: Self.encode(ProtocolErrorBody(code: failure.code, message: failure.message)),
                  keepAlive: keepAlive)
        }
    }

    private func reject(context: ChannelHandlerContext, status: HTTPResponseStatus, _ message: String) {
        rejected = true
        body = nil
        // The rest of an oversized body is not read: answer and close.
        error(context: context, status: status, message, keepAlive: false)
    }

    private func error(context: ChannelHandlerContext, status: HTTPResponseStatus, _ message: String, keepAlive: Bool, allow: String? = nil) {
        write(context: context, status: status, json: Self.encode(ProtocolErrorBody(code: .malformedRequest, message: message)), keepAlive: keepAlive,
              allow: allow)
    }

    static func encode(_ body: ProtocolErrorBody) -> String {
        String(decoding: (try? TallyJSON.encode(body)) ?? Data(), as: UTF8.self)
    }

    private func write(context: ChannelHandlerContext, status: HTTPResponseStatus, json: String, keepAlive: Bool, allow: String? = nil) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        if let allow { headers.add(name: "allow", value: allow) }
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(json.utf8.count))
        headers.add(name: "connection", value: keepAlive && !port.isDraining ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: json.utf8.count)
        buffer.writeString(json)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        awaitingAnswer = false
        if !keepAlive || port.isDraining {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// Draining: an idle connection is half-closed at once (the client reads the end of the stream); one waiting
    /// for its answer is closed after it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            if !awaitingAnswer { context.close(mode: .output, promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
