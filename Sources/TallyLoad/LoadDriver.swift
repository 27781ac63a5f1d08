import Foundation
import TallyCore

#if canImport(Glibc)
import Glibc
#endif

/// A small load driver: threads that POST prepared activation bodies to a host on loopback, over a new TCP
/// connection per request (what real clients do) or over one kept-alive connection per thread.
public struct LoadDriver: Sendable {
    public struct Result: Sendable, Codable {
        public var mode: String
        public var connections: Int
        public var requests: Int
        public var errors: Int
        public var seconds: Double
        public var perSecond: Double
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var maxMilliseconds: Double
        /// CPU of the process running the driver, per request, in µs (`tally bench` runs the host as its own
        /// process and reads the host's CPU from /proc, so this is the driver's).
        public var cpuMicrosecondsPerRequest: Double
        public var resultCounts: [String: Int]
    }

    public var port: Int
    public var connections: Int
    public var keepAlive: Bool
    public var duration: TimeInterval
    /// Bodies to send; each is used once (requests stop when they run out).
    public var bodies: [Data]

    /// Requests per second in all, paced; `nil` sends as fast as answers come back. With a rate, latency counts
    /// from when a request was due, not when it was sent, so a stalled host is not hidden.
    public var rate: Double?

    public init(port: Int, connections: Int, keepAlive: Bool, duration: TimeInterval, bodies: [Data], rate: Double? = nil) {
        self.port = port
        self.connections = connections
        self.keepAlive = keepAlive
        self.duration = duration
        self.bodies = bodies
        self.rate = rate
    }

    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var next = 0
        var latencies: [Double] = []
        var errors = 0
        var results: [String: Int] = [:]
    }

    public func run() -> Result {
        let shared = Shared()
        let deadline = monotonic() + duration
        let cpuStart = cpuSeconds()
        let start = monotonic()
        let group = DispatchGroup()
        let bodies = self.bodies
        for _ in 0..<connections {
            group.enter()
            let thread = Thread { [self] in
                var latencies: [Double] = []
                var errors = 0
                var results: [String: Int] = [:]
                var connection: Int32 = -1
                let interval = rate.map { Double(connections) / $0 }
                var due = monotonic() + (interval.map { Double.random(in: 0..<$0) } ?? 0)
                while monotonic() < deadline {
                    if let interval {
                        let wait = due - monotonic()
                        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                    }
                    shared.lock.lock()
                    let index = shared.next
                    shared.next += 1
                    shared.lock.unlock()
                    guard index < bodies.count else { break }
                    let began = interval == nil ? monotonic() : due
                    if let interval { due += interval }
                    if connection < 0 { connection = connect(port: port) }
                    guard connection >= 0, let (status, body) = exchange(connection, bodies[index], keepAlive: keepAlive) else {
                        errors += 1
                        if connection >= 0 { close(connection) }
                        connection = -1
                        continue
                    }
                    latencies.append(monotonic() - began)
                    // Decoding every answer would cost the driver as much CPU as the host: sample one in 64.
                    if status != 200 {
                        results["http \(status)", default: 0] += 1
                    } else if index % 64 == 0 {
                        results["sampled " + Self.resultCode(body), default: 0] += 1
                    }
                    if !keepAlive {
                        close(connection)
                        connection = -1
                    }
                }
                if connection >= 0 { close(connection) }
                shared.lock.lock()
                shared.latencies += latencies
                shared.errors += errors
                for (key, value) in results { shared.results[key, default: 0] += value }
                shared.lock.unlock()
                group.leave()
            }
            thread.start()
        }
        group.wait()
        let elapsed = monotonic() - start
        let cpu = cpuSeconds() - cpuStart
        let sorted = shared.latencies.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
        }
        return Result(mode: (keepAlive ? "keep-alive" : "new connection") + (rate.map { String(format: " at %.0f/s", $0) } ?? ""), connections: connections, requests: sorted.count,
                      errors: shared.errors, seconds: elapsed, perSecond: Double(sorted.count) / elapsed,
                      p50Milliseconds: percentile(0.5), p99Milliseconds: percentile(0.99), maxMilliseconds: (sorted.last ?? 0) * 1000,
                      cpuMicrosecondsPerRequest: sorted.isEmpty ? 0 : cpu / Double(sorted.count) * 1_000_000, resultCounts: shared.results)
    }

    /// The `res` of a signed answer, read without verifying (the driver measures; tests verify).
    static func resultCode(_ body: Data) -> String {
        guard let response = try? JSONDecoder().decode(ActivationResponseBody.self, from: body),
              let parsed = try? JWS.parse(response.response, expecting: .response),
              let claims = try? parsed.decodePayload(ResponseClaims.self)
        else { return "unreadable" }
        return claims.res.hex
    }

    func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if ok != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    func exchange(_ fd: Int32, _ body: Data, keepAlive: Bool) -> (Int, Data)? {
        var request = Data("POST /v1/activate HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n".utf8)
        if !keepAlive { request += Data("Connection: close\r\n".utf8) }
        request += Data("\r\n".utf8) + body
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return nil }
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<n])
            guard let end = Self.headerEnd(buffer) else { continue }
            let head = String(decoding: buffer[0..<end], as: UTF8.self)
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
            if buffer.count >= end + 4 + length {
                return (status, Data(buffer[(end + 4)..<(end + 4 + length)]))
            }
        }
    }

    static func headerEnd(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}
