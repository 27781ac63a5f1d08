import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP `CONNECT` proxy on 127.0.0.1 (port 0), as an enterprise proxy: it opens a tunnel to the
/// requested port on loopback and copies bytes both ways. It records each CONNECT line, and can refuse them
/// all (403) to act as a proxy that forbids the vendor.
public final class ConnectProxy: @unchecked Sendable {
    public let port: Int
    private let fd: Int32
    private let refuse: Bool
    private let lock = NSLock()
    private var lines: [String] = []

    public init(refuse: Bool = false) throws {
        self.refuse = refuse
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw RawHTTPConnection.Failure(description: "proxy bind/listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        fd = listener
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                Thread.detachNewThread { self.serve(client) }
            }
        }
    }

    /// The CONNECT request lines received, in order.
    public var requests: [String] { lock.withLock { lines } }

    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve(_ client: Int32) {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !head.ends(with: Array("\r\n\r\n".utf8)), head.count < 8192, read(client, &byte, 1) == 1 { head.append(byte) }
        let line = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        lock.withLock { lines.append(line) }
        let parts = line.split(separator: " ")
        guard !refuse, parts.count == 3, parts[0] == "CONNECT", let colon = parts[1].lastIndex(of: ":"), let target = Int(parts[1][parts[1].index(after: colon)...]),
              let upstream = try? RawHTTPConnection(port: target, timeout: 30) else {
            Self.send(client, refuse ? "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n" : "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            close(client)
            return
        }
        Self.send(client, "HTTP/1.1 200 Connection established\r\n\r\n")
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Self.pipe(from: upstream.fd, to: client)
            done.signal()
        }
        Self.pipe(from: client, to: upstream.fd)
        done.wait()
        close(client)
    }

    private static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Copies until `source` ends, then ends the other direction's writes.
    private static func pipe(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(sink, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { return }
                offset += written
            }
        }
        shutdown(sink, Int32(SHUT_WR))
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
