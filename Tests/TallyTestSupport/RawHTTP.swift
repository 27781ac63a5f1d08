import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a POSIX socket, for tests that must send exact bytes (malformed
/// requests, oversized bodies) to a live host on loopback.
public final class RawHTTPConnection: @unchecked Sendable {
    public let fd: Int32

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        public func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Connects to `127.0.0.1:port` (or `::1` when `ipv6`), with a receive timeout so a test cannot hang.
    /// `source` binds the local end to another loopback address (e.g. 127.0.0.2) to act as another client.
    public init(port: Int, ipv6: Bool = false, timeout: TimeInterval = 10, source: String? = nil) throws {
        fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        if let source, !ipv6 {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else {
                close(fd)
                throw Failure(description: "bind to \(source): errno \(errno)")
            }
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let result: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = in6addr_loopback
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
    }

    deinit { close(fd) }

    public func send(_ bytes: Data) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
                offset += n
            }
        }
    }

    public func send(_ text: String) throws { try send(Data(text.utf8)) }

    /// A POST with a JSON body; `keepAlive` false adds `Connection: close`.
    public func post(_ path: String, body: Data, keepAlive: Bool = true) throws -> Response {
        var head = "POST \(path) HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        if !keepAlive { head += "Connection: close\r\n" }
        try send(Data((head + "\r\n").utf8) + body)
        return try readResponse()
    }

    private var buffer = Data()

    /// Reads one response (headers and a Content-Length body).
    public func readResponse() throws -> Response {
        while true {
            if let end = buffer.range(of: Data("\r\n\r\n".utf8)) {
                let headText = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
                var lines = headText.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                let bodyStart = end.upperBound
                if buffer.count - (bodyStart - buffer.startIndex) >= length {
                    let body = buffer[bodyStart..<bodyStart + length]
                    buffer = Data(buffer[(bodyStart + length)...])
                    return Response(status: status, headers: headers, body: Data(body))
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv: errno \(errno)") }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Whether the peer closed the connection: EOF, or a reset (a peer that closes with unread input resets).
    public func readsEOF() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }
}
