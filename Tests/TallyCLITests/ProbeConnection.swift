import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to a host on 127.0.0.1 over a raw socket, for tests that must tell how a connection ended:
/// refused (nothing listens), closed (the peer's FIN before any answer), reset (ECONNRESET), or an answer.
final class ProbeConnection {
    /// How an attempt to connect, send or read ended.
    enum Outcome: Equatable, CustomStringConvertible {
        case answer(status: Int, body: Data)
        /// `connect` got ECONNREFUSED.
        case refused
        /// The peer closed the connection (EOF) before any byte of an answer.
        case closed
        /// ECONNRESET (or EPIPE on send: the peer had reset the connection).
        case reset
        /// Anything else: errno, or a timeout (EAGAIN).
        case failed(String)

        var description: String {
            switch self {
            case let .answer(status, body): "answer \(status) \(String(decoding: body.prefix(120), as: UTF8.self))"
            case .refused: "refused"
            case .closed: "closed"
            case .reset: "reset"
            case let .failed(what): "failed: \(what)"
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32
    /// The local port, which names this connection in /proc/net/tcp.
    private(set) var localPort = 0
    private var buffer = Data()

    /// A socket whose reads give up after `timeout` (a failure then, never a hang).
    init(timeout: Int = 30) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Connects to 127.0.0.1:`port`: `nil` when connected, else how it failed.
    func connect(port: Int) -> Outcome? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { return Self.outcome(errno: errno) }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        localPort = Int(UInt16(bigEndian: local.sin_port))
        return nil
    }

    /// Sends all of `bytes`: `nil` when sent, else how it failed.
    func send(_ bytes: Data) -> Outcome? {
        bytes.withUnsafeBytes { raw -> Outcome? in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { return Self.outcome(errno: errno) }
                offset += n
            }
            return nil
        }
    }

    /// An activation request: its head and body, to send whole or in parts.
    static func request(body: Data, keepAlive: Bool = true) -> Data {
        Data("POST /v1/activate HTTP/1.1\r\nHost: tally\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\(keepAlive ? "" : "Connection: close\r\n")\r\n".utf8) + body
    }

    /// Whether a byte (or the end of the stream) can be read within `milliseconds`, without reading it.
    func readable(withinMilliseconds milliseconds: Int32) -> Bool {
        guard buffer.isEmpty else { return true }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    /// Reads one answer (head and Content-Length body), or how the connection ended before one.
    func readAnswer() -> Outcome {
        while true {
            if let end = buffer.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
                let length = head.dropFirst().compactMap { line -> Int? in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }.first ?? 0
                if buffer.distance(from: end.upperBound, to: buffer.endIndex) >= length {
                    let body = Data(buffer[end.upperBound..<buffer.index(end.upperBound, offsetBy: length)])
                    buffer = Data(buffer[buffer.index(end.upperBound, offsetBy: length)...])
                    return .answer(status: status, body: body)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return buffer.isEmpty ? .closed : .failed("closed in the middle of an answer") }
            if n < 0 { return Self.outcome(errno: errno) }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// After an answer: how the connection ends (`closed` for a clean FIN).
    func readEnd() -> Outcome {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        if n == 0 { return .closed }
        if n < 0 { return Self.outcome(errno: errno) }
        return .failed("more bytes after the answer")
    }

    static func outcome(errno code: Int32) -> Outcome {
        switch code {
        case ECONNREFUSED: .refused
        case ECONNRESET, EPIPE: .reset
        case EAGAIN: .failed("timed out")
        default: .failed("errno \(code) \(String(cString: strerror(code)))")
        }
    }
}

/// The kernel's view of this machine's IPv4 TCP sockets (/proc/net/tcp).
enum KernelSockets {
    /// Bytes waiting in the receive queue of the socket bound to `localPort` whose peer is `remotePort` (both on
    /// 127.0.0.1), i.e. what its process has not read yet; `nil` when there is no such socket.
    static func unread(localPort: Int, remotePort: Int) -> Int? {
        // Read to the end: a /proc file reports size 0, and a single read returns only its first page.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return nil }
        defer { try? handle.close() }
        let table = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        let local = String(format: "0100007F:%04X", localPort), remote = String(format: "0100007F:%04X", remotePort)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[1] == local, fields[2] == remote else { continue }
            return fields[4].split(separator: ":").last.flatMap { Int($0, radix: 16) }
        }
        return nil
    }

    /// Waits until the host listening on `port` has read everything each of `connections` sent (its sockets'
    /// receive queues are empty): a condition polled, never a timer waited for. Returns what is still unread
    /// (`nil` for a socket not found) when that does not happen within 30 s, else `[]`.
    static func waitUntilRead(port: Int, _ connections: [ProbeConnection]) -> [Int?] {
        let deadline = Date().addingTimeInterval(30)
        var unread: [Int?] = []
        while Date() < deadline {
            unread = connections.map { Self.unread(localPort: port, remotePort: $0.localPort) }
            if unread.allSatisfy({ $0 == 0 }) { return [] }
            sched_yield()
        }
        return unread
    }
}
