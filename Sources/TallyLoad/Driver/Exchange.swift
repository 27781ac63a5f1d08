#if canImport(Glibc)
import Glibc
#endif

/// One request and its answer on a new blocking connection: for the probes around a run (answer sizes, the
/// threshold, the first grant after a start), where the bytes themselves are what is measured.
public struct Exchange: Sendable {
    public var status: Int
    /// The whole answer on the wire: status line, headers and body.
    public var answerBytes: Int
    public var requestBytes: Int
    public var body: [UInt8]
    /// The answer read as either format, when the status is 200.
    public var answer: ActivationAnswer?
    /// From connect to the last byte of the answer.
    public var seconds: Double

    /// Sends `request` to 127.0.0.1:`port` and reads the answer; `nil` when the connection fails or no whole
    /// answer comes within `timeout` seconds.
    public static func send(_ request: [UInt8], port: Int, timeout: Double = 10) -> Exchange? {
        let began = Clocks.monotonic()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return nil }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            buffer += chunk[0..<count]
            let outcome = buffer.withUnsafeBufferPointer { HTTPResponseScanner.scan($0, atEOF: count == 0) }
            switch outcome {
            case .complete(let head, let total):
                let body = buffer.withUnsafeBufferPointer { HTTPResponseScanner.body($0, head: head, total: total) }
                return Exchange(status: head.status, answerBytes: total, requestBytes: request.count, body: body,
                                answer: head.status == 200 ? ActivationAnswer.parse(body) : nil, seconds: Clocks.monotonic() - began)
            case .invalid:
                return nil
            case .incomplete:
                if count == 0 { return nil }
            }
        }
    }
}
