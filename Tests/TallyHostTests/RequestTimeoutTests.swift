import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import TallyHost

@Suite("Request timeouts on an embedded channel, time as input")
struct RequestTimeoutTests {
    /// A channel with the timeout handlers around the HTTP decoder, and a sink that records requests.
    final class Sink: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var ends = 0
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .end = unwrapInboundIn(data) { ends += 1 }
        }
    }

    func channel(idle: TimeAmount = .seconds(60), read: TimeAmount = .seconds(10)) throws -> (EmbeddedChannel, Sink) {
        let channel = EmbeddedChannel()
        let timeouts = RequestTimeoutHandler(timers: ConnectionTimers(idleTimeout: idle, readTimeout: read))
        let sink = Sink()
        try channel.pipeline.syncOperations.addHandler(timeouts)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.pipeline.syncOperations.addHandler(RequestCompleteHandler(timeouts: timeouts))
        try channel.pipeline.syncOperations.addHandler(sink)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, sink)
    }

    func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    @Test("a request trickling in one byte a second is cut off at the read timeout with 408")
    func slowSender() throws {
        let (channel, sink) = try channel(read: .seconds(10))
        let request = "POST /v1/activate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        for (second, character) in request.prefix(9).enumerated() {
            try send(channel, String(character))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            #expect(channel.isActive, "closed after \(second + 1) s")
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: written).hasPrefix("HTTP/1.1 408"))
        #expect(String(buffer: written).contains("0xC0A7000D"))
        #expect(!channel.isActive)
        #expect(sink.ends == 0)
    }

    @Test("a whole request stops the read timer; an idle connection closes at the idle timeout")
    func idle() throws {
        let (channel, sink) = try channel(idle: .seconds(30), read: .seconds(5))
        try send(channel, "POST /v1/activate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        #expect(sink.ends == 1)
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test("requests arriving in time keep the connection open indefinitely")
    func keepAlive() throws {
        let (channel, sink) = try channel(idle: .seconds(30), read: .seconds(5))
        for _ in 0..<10 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            try send(channel, "POST /v1/activate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        }
        #expect(sink.ends == 10)
        #expect(channel.isActive)
    }
}
