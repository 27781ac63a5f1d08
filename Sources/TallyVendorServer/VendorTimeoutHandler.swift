import NIOCore
import NIOHTTP1
import TallyCore

/// Sits after the HTTP decoder and bounds how long a connection may hold the vendor: between requests (and
/// before the first, TLS handshake included) it is closed after the idle timeout; from a request's head to its
/// end the read timeout runs, and a request not complete by then gets 408 and the connection is closed. While
/// the vendor works on a request no timer runs.
final class VendorTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let idleTimeout: TimeAmount
    private let readTimeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(idleTimeout: TimeAmount, readTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context, after: idleTimeout, answer: false) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context, after: idleTimeout, answer: false)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context: context, after: readTimeout, answer: true)
        case .body: break
        case .end: disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context: context, after: idleTimeout, answer: false) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    private func arm(context: ChannelHandlerContext, after delay: TimeAmount, answer: Bool) {
        disarm()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = bound.value
            handler.timer = nil
            guard answer else {
                context.close(promise: nil)
                return
            }
            let body = VendorResponse.error(.requestTimeout, .vendorLimitReached, "the request was not complete within the vendor's read timeout", close: true)
            body.write(context: context, handler: handler)
        }
    }

    fileprivate func wrap(_ part: HTTPServerResponsePart) -> NIOAny { wrapOutboundOut(part) }
}

extension VendorResponse {
    /// Writes the response from inside the pipeline (below the async writer) and closes.
    fileprivate func write(context: ChannelHandlerContext, handler: VendorTimeoutHandler) {
        context.write(handler.wrap(.head(head(keepAlive: false))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        context.write(handler.wrap(.body(.byteBuffer(buffer))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(handler.wrap(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
