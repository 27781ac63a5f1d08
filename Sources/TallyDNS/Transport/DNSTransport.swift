#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One DNS exchange over a POSIX socket: UDP (RFC 1035 §4.2.1) or TCP with its two-byte length (§4.2.2),
/// with `poll` timeouts and no threads.
enum DNSTransport {
    /// The largest UDP datagram read.
    static let maximumDatagram = 65_535

    /// Sends `query` over UDP and returns the first datagram `accept` takes. Datagrams it refuses (a wrong id,
    /// a different question: late answers or spoofing attempts) are dropped and the wait goes on until the
    /// deadline.
    static func udp(_ query: [UInt8], to server: DNSServerAddress, timeout: Double,
                    accept: ([UInt8]) -> Bool) throws(DNSError) -> [UInt8] {
        let fd = try openSocket(for: server, type: SOCK_DGRAM)
        defer { close(fd) }
        try connect(fd, to: server, deadline: DNSDeadline(after: timeout), stream: false)
        let sent = query.withUnsafeBytes { systemSend(fd, $0.baseAddress!, $0.count) }
        guard sent == query.count else { throw DNSError(.network, "could not send to \(server): \(errnoText())") }
        let deadline = DNSDeadline(after: timeout)
        var buffer = [UInt8](repeating: 0, count: maximumDatagram)
        while true {
            try waitReadable(fd, deadline: deadline, server: server, what: "answer")
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                // ECONNREFUSED: an ICMP port unreachable came back; nothing listens there.
                throw DNSError(.network, "\(server) did not take the query: \(errnoText())")
            }
            let datagram = Array(buffer[0..<count])
            if accept(datagram) { return datagram }
        }
    }

    /// Sends `query` over TCP and reads one answer; the whole exchange must finish within `timeout`.
    static func tcp(_ query: [UInt8], to server: DNSServerAddress, timeout: Double) throws(DNSError) -> [UInt8] {
        guard query.count <= DNSMessage.maximumSize else { throw DNSError(.malformedAnswer, "a query larger than 65535 bytes") }
        let deadline = DNSDeadline(after: timeout)
        let fd = try openSocket(for: server, type: SOCK_STREAM)
        defer { close(fd) }
        try connect(fd, to: server, deadline: deadline, stream: true)
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        var offset = 0
        while offset < framed.count {
            let sent = framed.withUnsafeBytes { systemSend(fd, $0.baseAddress! + offset, $0.count - offset) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try wait(fd, events: Int16(POLLOUT), deadline: deadline, server: server, what: "room to send the query")
            } else {
                throw DNSError(.network, "\(server) closed the TCP connection while the query was sent: \(errnoText())")
            }
        }
        let prefix = try read(2, from: fd, deadline: deadline, server: server)
        let length = Int(prefix[0]) << 8 | Int(prefix[1])
        guard length >= DNSMessage.headerSize else {
            throw DNSError(.malformedAnswer, "\(server) announced a TCP answer of \(length) bytes, shorter than a header")
        }
        return try read(length, from: fd, deadline: deadline, server: server)
    }

    // MARK: - Sockets

    private static func openSocket(for server: DNSServerAddress, type: __socket_type_compat) throws(DNSError) -> Int32 {
        guard let address = DNSServerAddress.socketAddress(host: server.host, port: server.port) else {
            throw DNSError(.badAddress, "'\(server.host)' is not a numeric address")
        }
        let fd = socket(address.family, socketType(type) | cloexec, 0)
        guard fd >= 0 else { throw DNSError(.network, "socket: \(errnoText())") }
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            close(fd)
            throw DNSError(.network, "fcntl: \(errnoText())")
        }
        return fd
    }

    private static func connect(_ fd: Int32, to server: DNSServerAddress, deadline: DNSDeadline, stream: Bool) throws(DNSError) {
        guard var address = DNSServerAddress.socketAddress(host: server.host, port: server.port) else {
            throw DNSError(.badAddress, "'\(server.host)' is not a numeric address")
        }
        let result = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemConnect(fd, $0, address.length) }
        }
        if result == 0 { return }
        guard stream, errno == EINPROGRESS || errno == EINTR else {
            throw DNSError(.network, "could not connect to \(server): \(errnoText())")
        }
        try wait(fd, events: Int16(POLLOUT), deadline: deadline, server: server, what: "TCP connection")
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0, error == 0 else {
            throw DNSError(.network, "could not connect to \(server) over TCP: \(String(cString: strerror(error)))")
        }
    }

    private static func read(_ count: Int, from fd: Int32, deadline: DNSDeadline, server: DNSServerAddress) throws(DNSError) -> [UInt8] {
        var data = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = data.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + filled, count - filled, 0) }
            if got > 0 {
                filled += got
            } else if got == 0 {
                throw DNSError(.network, "\(server) closed the TCP connection after \(filled) of \(count) bytes")
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                try waitReadable(fd, deadline: deadline, server: server, what: "rest of the TCP answer")
            } else {
                throw DNSError(.network, "reading from \(server): \(errnoText())")
            }
        }
        return data
    }

    private static func waitReadable(_ fd: Int32, deadline: DNSDeadline, server: DNSServerAddress, what: String) throws(DNSError) {
        try wait(fd, events: Int16(POLLIN), deadline: deadline, server: server, what: what)
    }

    private static func wait(_ fd: Int32, events: Int16, deadline: DNSDeadline, server: DNSServerAddress, what: String) throws(DNSError) {
        while true {
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else {
                throw DNSError(.timeout, "\(server): no \(what) within \(format(deadline.seconds)) s")
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&pfd, 1, remaining)
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw DNSError(.network, "poll: \(errnoText())") }
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String((seconds * 100).rounded() / 100)
    }
}

#if canImport(Glibc) || canImport(Musl)
typealias __socket_type_compat = __socket_type
private let cloexec = Int32(SOCK_CLOEXEC.rawValue)
private func socketType(_ type: __socket_type) -> Int32 { Int32(type.rawValue) }

private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    Glibc.connect(fd, address, length)
}

private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL))
}
#else
typealias __socket_type_compat = Int32
private let cloexec: Int32 = 0
private func socketType(_ type: Int32) -> Int32 { type }

private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
    return Darwin.connect(fd, address, length)
}

private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Darwin.send(fd, bytes, count, 0)
}
#endif
