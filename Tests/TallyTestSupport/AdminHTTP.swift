import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange with `Connection: close` to any address (127.0.0.2 included), for admin-port tests:
/// every header of the answer is kept, `Set-Cookie` included.
public enum AdminHTTP {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }

        public func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: body) as? [String: Any] ?? [:]
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// A GET.
    public static func request(_ path: String, host: String = "127.0.0.1", port: Int, headers: [String: String] = [:]) throws -> Response {
        try request("GET", path, host: host, port: port, headers: headers)
    }

    /// A request. The `Host` header names the address, unless `headers` names one or `hostHeaders` gives the
    /// `Host` lines to send (several, to test a request that carries more than one).
    public static func request(_ method: String, _ path: String, host: String = "127.0.0.1", port: Int,
                               headers: [String: String] = [:], hostHeaders: [String]? = nil, body: Data = Data()) throws -> Response {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { throw Failure(description: "bad address \(host)") }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw Failure(description: "connect to \(host):\(port): errno \(errno)")
        }
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let names = hostHeaders ?? (headers.keys.contains { $0.lowercased() == "host" } ? [] : [authority])
        var head = "\(method) \(path) HTTP/1.1\r\n" + names.map { "Host: \($0)\r\n" }.joined()
            + "Connection: close\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n").utf8) + Array(body)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno)") }
            data.append(contentsOf: chunk[0..<n])
        }
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { throw Failure(description: "no HTTP head in \(data.count) bytes") }
        var lines = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line") }
        let parsed = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: parsed, body: Data(data[end.upperBound...]))
    }
}
