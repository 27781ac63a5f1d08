import Foundation
import NIOCore
import NIOHTTP1
import TallyCore

extension VendorServer {
    /// Serves one connection: requests in order (keep-alive), each body collected up to the cap, each answered.
    func serve(_ connection: Connection) async {
        let channel = connection.channel
        let admitted = connections.admit(channel)
        defer { if admitted { connections.leave(channel) } }
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body = channel.allocator.buffer(capacity: 0)
                for try await part in inbound {
                    switch part {
                    case let .head(next):
                        head = next
                        body.clear()
                        guard admitted else {
                            try await Self.write(.error(.serviceUnavailable, .vendorLimitReached, "the vendor has as many connections as it allows; retry later", close: true),
                                                 to: outbound, keepAlive: false)
                            return
                        }
                        if let length = next.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                            try await Self.write(tooLarge(), to: outbound, keepAlive: false)
                            return
                        }
                    case var .body(chunk):
                        guard body.readableBytes + chunk.readableBytes <= maxBodyBytes else {
                            try await Self.write(tooLarge(), to: outbound, keepAlive: false)
                            return
                        }
                        body.writeBuffer(&chunk)
                    case .end:
                        guard let request = head else { return }
                        head = nil
                        let response = await router.respond(to: request, body: body, address: clientAddress(request, peer: peer))
                        let keepAlive = request.isKeepAlive && !response.close
                        try await Self.write(response, to: outbound, keepAlive: keepAlive)
                        if !keepAlive { return }
                    }
                }
            }
        } catch {
            // A connection that fails (TLS refused by the client, reset, closed by a timer) ends here alone.
        }
    }

    private func tooLarge() -> VendorResponse {
        .error(.payloadTooLarge, .malformedRequest, "the body is larger than \(maxBodyBytes) bytes", close: true)
    }

    /// The requester's address: the peer, or behind a trusted proxy on loopback the last `X-Forwarded-For` entry.
    private func clientAddress(_ head: HTTPRequestHead, peer: String) -> String {
        guard trustForwardedFor, let forwarded = head.headers[canonicalForm: "x-forwarded-for"].last else { return peer }
        let last = forwarded.trimmingCharacters(in: .whitespaces)
        return last.isEmpty ? peer : String(last.prefix(64))
    }

    static func write(_ response: VendorResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, keepAlive: Bool) async throws {
        try await outbound.write(.head(response.head(keepAlive: keepAlive)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
        try await outbound.write(.end(nil))
    }
}
