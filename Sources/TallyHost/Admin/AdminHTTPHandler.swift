import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TallyCore

/// Collects one request (head and a capped body), runs the router in a task, writes the answer.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: AdminRouter
    private let executor: DispatchTaskExecutor
    private var head: HTTPRequestHead?
    private var body = Data()
    private var rejected = false

    init(router: AdminRouter, executor: DispatchTaskExecutor) {
        self.router = router
        self.executor = executor
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            self.head = head
            body = Data()
            rejected = false
        case var .body(chunk):
            guard !rejected else { return }
            if body.count + chunk.readableBytes > AdminServer.maximumBodyBytes {
                rejected = true
                write(context: context, AdminResponse.error(413, "the body is larger than \(AdminServer.maximumBodyBytes) bytes"), keepAlive: false, head: false)
                return
            }
            body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
        case .end:
            guard !rejected, let head else { return }
            var request = AdminRequest(method: head.method.rawValue, uri: head.uri, headerFields: head.headers.map { ($0.name, $0.value) },
                                       body: body)
            request.peer = context.channel.remoteAddress?.hostOnly
            let keepAlive = head.isKeepAlive
            let isHead = head.method == .HEAD
            let router = self.router
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let promise = context.eventLoop.makePromise(of: AdminResponse.self)
            Task(executorPreference: executor) { promise.succeed(await router.handle(request)) }
            promise.futureResult.whenComplete { result in
                let (handler, context) = loopBound.value
                let response = (try? result.get()) ?? AdminResponse.error(503, "the host is shutting down")
                handler.write(context: context, response, keepAlive: keepAlive, head: isHead)
            }
        }
    }

    private func write(context: ChannelHandlerContext, _ response: AdminResponse, keepAlive: Bool, head isHead: Bool) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers))),
                      promise: nil)
        if !isHead, !response.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
