import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on loopback, port 0: as a dead host it listens and never answers (the kernel completes the
/// connection); as a fake host it serves a few connections on a background thread with canned bytes.
final class LoopbackServer: @unchecked Sendable {
    let fd: Int32
    let port: Int
    let ipv6: Bool

    struct Request: Sendable {
        var head: String
        var body: Data
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(ipv6: Bool = false) throws {
        self.ipv6 = ipv6
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var bound: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw Failure(description: "bind/listen: errno \(errno)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = withUnsafePointer(to: &storage) { pointer in
            ipv6 ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                 : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    deinit { close(fd) }

    var address: String { ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)" }

    /// Serves `count` connections in turn on a background thread: reads one request, writes what `handler`
    /// returns, closes. Gives up after 10 s without a connection, so a failed test cannot leave it blocked.
    func serve(count: Int = 1, _ handler: @escaping @Sendable (Request) -> Data) {
        let listener = fd
        let thread = Thread {
            for _ in 0..<count {
                var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&pfd, 1, 10_000) > 0 else { return }
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let request = LoopbackServer.readRequest(connection)
                let reply = handler(request)
                reply.withUnsafeBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let n = send(connection, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                        guard n > 0 else { break }
                        offset += n
                    }
                }
                close(connection)
            }
        }
        thread.start()
    }

    static func readRequest(_ connection: Int32) -> Request {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = data.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let length = head.components(separatedBy: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if data.count - end.upperBound >= length {
                    return Request(head: head, body: Data(data[end.upperBound..<end.upperBound + length]))
                }
            }
            let n = recv(connection, &chunk, chunk.count, 0)
            guard n > 0 else { return Request(head: String(decoding: data, as: UTF8.self), body: Data()) }
            data.append(contentsOf: chunk[0..<n])
        }
    }

    /// An HTTP/1.1 answer with a Content-Length body.
    static func response(_ status: Int, _ reason: String, body: Data, contentType: String = "application/json") -> Data {
        Data("HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
    }

    /// Whether this machine can listen on ::1.
    static let hasIPv6Loopback: Bool = (try? LoopbackServer(ipv6: true)) != nil
}
