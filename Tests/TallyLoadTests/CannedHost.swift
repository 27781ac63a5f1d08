import Foundation
import TallyCore
@testable import TallyLoad

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 port 0 for the driver's tests: it reads each request and answers as
/// told (a protocol-2 grant counting up, a status, or closing without an answer). Thread per connection.
final class CannedHost: @unchecked Sendable {  // its counters are guarded by `lock`
    enum Behaviour: Sendable {
        case grant(known: Int)
        case status(Int)
        case closeWithoutAnswer
    }

    let behaviour: Behaviour
    let listener: Int32
    let port: Int
    private let lock = NSLock()
    private var requests = 0
    private var accepted = 0
    private var closeHeaders = 0
    private var stopped = false

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(listener, pointer, length) == 0, listen(listener, 128) == 0 else { return -1 }
                return getsockname(listener, pointer, &length)
            }
        }
        guard bound == 0 else { throw BenchError("cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { close(listener) }

    var counts: (requests: Int, accepted: Int, closeHeaders: Int) {
        lock.withLock { (requests, accepted, closeHeaders) }
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0, !lock.withLock({ stopped }) else { return }
            lock.withLock { accepted += 1 }
            Thread.detachNewThread { [self] in serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            // One request: the head, then Content-Length bytes.
            var end: Int?
            var length = 0
            while true {
                if end == nil, let index = buffer.withUnsafeBufferPointer({ HTTPResponseScanner.headEnd($0) }) {
                    end = index
                    let head = String(decoding: buffer[0..<index], as: UTF8.self).lowercased()
                    for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                        length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
                if let end, buffer.count >= end + length { break }
                let count = recv(fd, &chunk, chunk.count, 0)
                guard count > 0 else { return }
                buffer += chunk[0..<count]
            }
            let head = String(decoding: buffer[0..<end!], as: UTF8.self).lowercased()
            buffer.removeFirst(end! + length)
            let closing = head.contains("connection: close")
            let index = lock.withLock { () -> Int in
                requests += 1
                if closing { closeHeaders += 1 }
                return requests
            }
            let response: String
            switch behaviour {
            case .closeWithoutAnswer:
                return
            case .status(let status):
                response = "HTTP/1.1 \(status) Nope\r\nContent-Length: 2\r\n\r\nno"
            case .grant(let known):
                let payload = Base64URL.encode(Data("{\"ver\":2,\"res\":\"0x00000000\",\"cur\":\(known + index)}".utf8))
                let body = "{\"token\":\"eyJhbGciOiJFZERTQSJ9.\(payload).c2ln\",\"certificate\":\"a.b.c\"}"
                response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            }
            let bytes = Array(response.utf8)
            guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count, !closing else { return }
        }
    }
}
