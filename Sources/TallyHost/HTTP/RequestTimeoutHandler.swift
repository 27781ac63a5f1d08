import NIOCore
import NIOHTTP1
import TallyCore

/// The timers of one connection, shared by the two handlers that see it: bytes arriving (before the HTTP
/// decoder) and whole requests (after it).
final class ConnectionTimers {
    enum State {
        /// Between requests: the idle timer runs.
        case idle
        /// A request has started arriving: the read timer runs until it is complete.
        case reading
    }

    let idleTimeout: TimeAmount
    let readTimeout: TimeAmount
    var state = State.idle
    var timer: Scheduled<Void>?

    init(idleTimeout: TimeAmount, readTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
    }
}

/// First in the pipeline: sees raw bytes. The first byte of a request starts the read timer; a connection
/// idle too long is closed; a request not complete within the read timeout gets 408 and the connection is
/// closed, so a client sending one byte a second loses its slot.
final class RequestTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timers: ConnectionTimers

    init(timers: ConnectionTimers) { self.timers = timers }

    func channelActive(context: ChannelHandlerContext) {
        startIdle(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .idle = timers.state {
            timers.state = .reading
            schedule(context: context, after: timers.readTimeout) { context in
                // The request did not arrive in time: answer 408 on the raw socket and close.
                let body = #"{"code":"\#(ResultCode.requestTimeout.hex)","message":"the request was not complete within the read timeout"}"#
                var buffer = context.channel.allocator.buffer(capacity: 256)
                buffer.writeString("HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
                let channel = context.channel
                context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timers.timer?.cancel()
        timers.timer = nil
        context.fireChannelInactive()
    }

    /// Called when a whole request has arrived: from now on the idle timer runs.
    func requestComplete(context: ChannelHandlerContext) {
        startIdle(context: context)
    }

    private func startIdle(context: ChannelHandlerContext) {
        timers.state = .idle
        schedule(context: context, after: timers.idleTimeout) { context in context.close(promise: nil) }
    }

    private func schedule(context: ChannelHandlerContext, after delay: TimeAmount, _ action: @escaping (ChannelHandlerContext) -> Void) {
        timers.timer?.cancel()
        // The context and the action belong to the connection's event loop, where the task runs.
        let bound = NIOLoopBound((context, action), eventLoop: context.eventLoop)
        timers.timer = context.eventLoop.scheduleTask(in: delay) {
            let (context, action) = bound.value
            action(context)
        }
    }
}

/// After the HTTP decoder: tells the timeout handler when a request is complete.
final class RequestCompleteHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    let timeouts: RequestTimeoutHandler
    private var timeoutsContext: ChannelHandlerContext?

    init(timeouts: RequestTimeoutHandler) { self.timeouts = timeouts }

    func handlerAdded(context: ChannelHandlerContext) {
        timeoutsContext = try? context.pipeline.syncOperations.context(handler: timeouts)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data), let timeoutsContext {
            timeouts.requestComplete(context: timeoutsContext)
        }
        context.fireChannelRead(data)
    }
}
