import Foundation
import TallyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP answer as read off the wire.
package struct HTTPResponse: Sendable, Equatable {
    package var status: Int
    package var reason: String
    /// Header names lower-cased, in the order received.
    package var headers: [(name: String, value: String)]
    package var body: Data

    package init(status: Int, reason: String, headers: [(name: String, value: String)], body: Data) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    package static func == (lhs: HTTPResponse, rhs: HTTPResponse) -> Bool {
        lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// Why an HTTP exchange failed, before any answer could be judged.
package struct HTTPFailure: Error, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        /// The name did not resolve.
        case resolve
        /// Refused, unreachable, or no connection within the connect timeout.
        case connect
        /// Connected, but no complete answer within the read timeout.
        case timeout
        /// The peer closed early or sent something that is not HTTP/1.x.
        case malformed
        /// The answer is larger than the cap.
        case tooLarge
    }

    package var kind: Kind
    package var detail: String

    package init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    package var description: String { detail }
}

/// A minimal HTTP/1.1 client over POSIX sockets: one request per connection (`Connection: close`), IPv4 and
/// IPv6, a real connect timeout (non-blocking connect and `poll`) and a read deadline for the whole answer.
///
/// Small on purpose: it keeps the client library free of URLSession and FoundationNetworking, and its timeouts
/// are exact.
package enum HTTPClient {
    /// The largest answer read (status line, headers and body).
    package static let maximumResponseBytes = 64 * 1024

    /// Sends `POST path` with a JSON body and reads the whole answer.
    ///
    /// - Parameters:
    ///   - connectTimeout: for each resolved address in turn.
    ///   - readTimeout: from the moment the request is sent until the whole answer has arrived.
    package static func post(_ path: String, body: Data, to address: HostAddress, contentType: String = "application/json",
                             connectTimeout: TimeInterval, readTimeout: TimeInterval) throws(HTTPFailure) -> HTTPResponse {
        let fd = try connect(to: address, timeout: connectTimeout)
        defer { close(fd) }
        var request = "POST \(path) HTTP/1.1\r\n"
        request += "Host: \(address.description)\r\n"
        request += "User-Agent: tally-client/1\r\n"
        request += "Content-Type: \(contentType)\r\n"
        request += "Accept: application/json\r\n"
        request += "Content-Length: \(body.count)\r\n"
        request += "Connection: close\r\n\r\n"
        let deadline = Deadline(after: readTimeout)
        try send(Data(request.utf8) + body, on: fd, deadline: deadline, address: address)
        return try receive(on: fd, deadline: deadline, address: address)
    }

    /// Sends `GET path` and reads the whole answer (`tally doctor` asks each host's `/health`, which counts nothing).
    package static func get(_ path: String, from address: HostAddress, connectTimeout: TimeInterval,
                            readTimeout: TimeInterval) throws(HTTPFailure) -> HTTPResponse {
        let fd = try connect(to: address, timeout: connectTimeout)
        defer { close(fd) }
        var request = "GET \(path) HTTP/1.1\r\n"
        request += "Host: \(address.description)\r\n"
        request += "User-Agent: tally-client/1\r\n"
        request += "Accept: application/json\r\n"
        request += "Connection: close\r\n\r\n"
        let deadline = Deadline(after: readTimeout)
        try send(Data(request.utf8), on: fd, deadline: deadline, address: address)
        return try receive(on: fd, deadline: deadline, address: address)
    }

    // MARK: - Connecting

    static func connect(to address: HostAddress, timeout: TimeInterval) throws(HTTPFailure) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc) || canImport(Musl)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &list)
        if status != 0 || list == nil {
            // AI_ADDRCONFIG hides ::1 on a machine without a global IPv6 address; try once more without it.
            hints.ai_flags = 0
            let retry = getaddrinfo(address.host, String(address.port), &hints, &list)
            guard retry == 0, list != nil else {
                throw HTTPFailure(.resolve, "could not resolve \(address.host): \(String(cString: gai_strerror(retry)))")
            }
        }
        defer { freeaddrinfo(list) }
        var failures: [String] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC_VALUE), info.ai_protocol)
            guard fd >= 0 else {
                failures.append(errnoText("socket"))
                continue
            }
            do throws(HTTPFailure) {
                try connect(fd, info.ai_addr, info.ai_addrlen, timeout: timeout, address: address)
                return fd
            } catch {
                close(fd)
                failures.append(error.detail)
            }
        }
        throw HTTPFailure(.connect, failures.isEmpty ? "\(address.host) has no usable address" : failures.joined(separator: "; "))
    }

    private static func connect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t,
                                timeout: TimeInterval, address: HostAddress) throws(HTTPFailure) {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw HTTPFailure(.connect, errnoText("fcntl")) }
        let target = "\(numeric(addr, length) ?? address.host) port \(address.port)"
        if systemConnect(fd, addr, length) == 0 { return }
        guard errno == EINPROGRESS || errno == EINTR else {
            throw HTTPFailure(.connect, "could not connect to \(target): \(String(cString: strerror(errno)))")
        }
        let deadline = Deadline(after: timeout)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&pfd, 1, deadline.remainingMilliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else {
                throw HTTPFailure(.connect, "no connection to \(target) within \(format(timeout)) s")
            }
            break
        }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 else { throw HTTPFailure(.connect, errnoText("getsockopt")) }
        guard error == 0 else {
            throw HTTPFailure(.connect, "could not connect to \(target): \(String(cString: strerror(error)))")
        }
    }

    // MARK: - Sending and receiving

    private static func send(_ data: Data, on fd: Int32, deadline: Deadline, address: HostAddress) throws(HTTPFailure) {
        var offset = 0
        while offset < data.count {
            let sent = data.withUnsafeBytes { buffer in
                systemSend(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if sent > 0 {
                offset += sent
                continue
            }
            if sent < 0, errno == EINTR { continue }
            guard sent < 0, errno == EAGAIN || errno == EWOULDBLOCK else {
                throw HTTPFailure(.malformed, "\(address) closed the connection while the request was sent: \(String(cString: strerror(errno)))")
            }
            try wait(fd, for: Int16(POLLOUT), deadline: deadline, address: address)
        }
    }

    private static func wait(_ fd: Int32, for events: Int16, deadline: Deadline, address: HostAddress) throws(HTTPFailure) {
        while true {
            let remaining = deadline.remainingMilliseconds
            guard remaining > 0 else {
                throw HTTPFailure(.timeout, "\(address) accepted the connection but did not answer within \(format(deadline.duration)) s")
            }
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&pfd, 1, remaining)
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw HTTPFailure(.malformed, errnoText("poll")) }
        }
    }

    private static func receive(on fd: Int32, deadline: Deadline, address: HostAddress) throws(HTTPFailure) -> HTTPResponse {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let parser = HTTPResponseParser(limit: maximumResponseBytes)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                guard received.count <= maximumResponseBytes else {
                    throw HTTPFailure(.tooLarge, "\(address) sent an answer larger than \(maximumResponseBytes / 1024) KiB")
                }
                if let response = try parser.parse(received, complete: false, address: address) { return response }
            } else if count == 0 {
                guard let response = try parser.parse(received, complete: true, address: address) else {
                    throw HTTPFailure(.malformed, "\(address) closed the connection before a complete answer")
                }
                return response
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try wait(fd, for: Int16(POLLIN), deadline: deadline, address: address)
            } else if errno != EINTR {
                throw HTTPFailure(.malformed, "reading from \(address): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: - Helpers

    static func errnoText(_ call: String) -> String { "\(call): \(String(cString: strerror(errno)))" }

    static func format(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }

    /// The numeric address, for messages.
    static func numeric(_ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> String? {
        guard let addr else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(addr, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
        let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.contains(":") ? "[\(text)]" : text
    }
}

#if canImport(Glibc) || canImport(Musl)
private let SOCK_CLOEXEC_VALUE = Int32(SOCK_CLOEXEC.rawValue)

private func systemConnect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    Glibc.connect(fd, addr, length)
}

/// `send` without SIGPIPE when the peer has gone.
private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL))
}
#else
private let SOCK_CLOEXEC_VALUE: Int32 = 0

private func systemConnect(_ fd: Int32, _ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
    var on: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
    return Darwin.connect(fd, addr, length)
}

private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    Darwin.send(fd, bytes, count, 0)
}
#endif

/// A point in monotonic time, for timeouts that a changed wall clock cannot stretch.
struct Deadline {
    let duration: TimeInterval
    private let end: UInt64

    init(after seconds: TimeInterval) {
        duration = seconds
        end = Deadline.nowNanoseconds() + UInt64(max(0, seconds) * 1_000_000_000)
    }

    var remainingMilliseconds: Int32 {
        let now = Deadline.nowNanoseconds()
        guard now < end else { return 0 }
        return Int32(clamping: (end - now + 999_999) / 1_000_000)
    }

    static func nowNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// Parses an HTTP/1.x answer from the bytes received so far: Content-Length, chunked, or read-to-close bodies.
package struct HTTPResponseParser {
    let limit: Int

    package init(limit: Int = HTTPClient.maximumResponseBytes) {
        self.limit = limit
    }

    /// The answer, once `data` holds all of it; `nil` while more is needed. `complete` says the peer closed.
    package func parse(_ data: Data, complete: Bool, address: HostAddress) throws(HTTPFailure) -> HTTPResponse? {
        let separator = Data("\r\n\r\n".utf8)
        guard let headEnd = data.range(of: separator) else {
            if data.count > limit { throw HTTPFailure(.tooLarge, "\(address) sent headers larger than \(limit / 1024) KiB") }
            if complete {
                throw HTTPFailure(.malformed, data.isEmpty ? "\(address) closed the connection without answering"
                                                           : "\(address) did not answer in HTTP: \(HTTPResponseParser.preview(data))")
            }
            return nil
        }
        let head = String(decoding: data[data.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw HTTPFailure(.malformed, "\(address) did not answer in HTTP/1.x: \(HTTPResponseParser.preview(Data(statusLine.utf8)))")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw HTTPFailure(.malformed, "\(address) sent a malformed header line: \(HTTPResponseParser.preview(Data(line.utf8)))")
            }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let reason = parts.count > 2 ? String(parts[2]) : ""
        let rest = data[headEnd.upperBound...]
        func response(_ body: Data) -> HTTPResponse { HTTPResponse(status: status, reason: reason, headers: headers, body: body) }

        if let encoding = headers.first(where: { $0.name == "transfer-encoding" })?.value.lowercased(), encoding.contains("chunked") {
            guard let body = try HTTPResponseParser.dechunk(Data(rest), address: address) else {
                if complete { throw HTTPFailure(.malformed, "\(address) closed the connection in the middle of a chunked answer") }
                return nil
            }
            return response(body)
        }
        if let lengthText = headers.first(where: { $0.name == "content-length" })?.value {
            guard let length = Int(lengthText), length >= 0 else {
                throw HTTPFailure(.malformed, "\(address) sent an invalid Content-Length: \(lengthText)")
            }
            guard length <= limit else { throw HTTPFailure(.tooLarge, "\(address) announced a body of \(length) bytes; the limit is \(limit)") }
            if rest.count >= length { return response(Data(rest.prefix(length))) }
            if complete { throw HTTPFailure(.malformed, "\(address) closed the connection after \(rest.count) of \(length) body bytes") }
            return nil
        }
        // No length: the body runs to the end of the connection (we asked for `Connection: close`).
        return complete ? response(Data(rest)) : nil
    }

    /// Decodes a chunked body; `nil` until the last chunk has arrived.
    static func dechunk(_ data: Data, address: HostAddress) throws(HTTPFailure) -> Data? {
        var body = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data.range(of: crlf, in: index..<data.endIndex) else { return nil }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else {
                throw HTTPFailure(.malformed, "\(address) sent a malformed chunk size: \(preview(Data(sizeText.utf8)))")
            }
            index = lineEnd.upperBound
            if size == 0 {
                // Trailers, if any, are skipped up to the empty line that ends the body.
                while true {
                    guard let end = data.range(of: crlf, in: index..<data.endIndex) else { return nil }
                    if end.lowerBound == index { return body }
                    index = end.upperBound
                }
            }
            // Compared without adding to `size`, which a hostile answer may set near Int.max.
            let available = data.distance(from: index, to: data.endIndex)
            guard available >= 2, size <= available - 2 else { return nil }
            let chunkEnd = data.index(index, offsetBy: size)
            body.append(data[index..<chunkEnd])
            index = data.index(chunkEnd, offsetBy: 2)
        }
    }

    /// The first bytes of something unexpected, printable.
    static func preview(_ data: Data) -> String {
        let text = String(decoding: data.prefix(80), as: UTF8.self)
        let printable = String(text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "." })
        return "\"\(printable)\(data.count > 80 ? "…" : "")\""
    }
}
