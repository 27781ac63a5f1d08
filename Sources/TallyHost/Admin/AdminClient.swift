import Foundation
import TallyCore
import TallyFiles

#if canImport(Glibc)
import Glibc
#endif

/// A small blocking HTTP/1.1 GET for the command line: `tally host status|clients|events` ask the running host's
/// admin interface with it, and read the store only when no host answers.
public enum AdminClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    /// Why no answer came: `unreachable` means no host listens (fall back to the store); anything else is an
    /// error to show.
    public struct Failure: Error, Sendable {
        public var unreachable: Bool
        public var message: String
    }

    /// The running host's admin address and token, from `admin.json` and the settings; `nil` when none runs.
    /// An `admin.json` whose pid is not a running `tally … serve` (a host that was killed) is ignored before
    /// anything is read or sent: its address may now be anyone's, and the token must not go there.
    public static func endpoint(_ directory: StateDirectory,
                                isServing: (Int32) -> Bool = AdminEndpoint.isServingHost) -> (address: BindAddress, token: String?)? {
        guard let endpoint = AdminEndpoint.read(from: directory), isServing(endpoint.pid),
              let address = try? BindAddress(endpoint.address) else { return nil }
        var token: String?
        if endpoint.tokenRequired, let file = (try? HostSettings.load(from: directory))?.adminTokenFile {
            token = try? AdminAccess.readToken(AdminAccess.tokenPath(file, directory: directory))
        }
        return (address, token)
    }

    public static func get(_ path: String, from address: BindAddress, token: String?, timeout: TimeInterval = 10) throws(Failure) -> Response {
        // A wildcard address is reached through loopback.
        let host = address.host == "0.0.0.0" ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(address.port), &hints, &list) == 0, let first = list else {
            throw Failure(unreachable: true, message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { throw Failure(unreachable: true, message: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            throw Failure(unreachable: true, message: "connect to \(address): errno \(errno)")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(address)\r\nAccept: application/json\r\nConnection: close\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(unreachable: false, message: "send to \(address): errno \(errno)") }
            sent += n
        }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw Failure(unreachable: false, message: "no complete answer from \(address) (errno \(errno))") }
            data.append(contentsOf: chunk[0..<n])
            guard data.count < 64 * 1024 * 1024 else { throw Failure(unreachable: false, message: "the answer from \(address) is too large") }
        }
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
            throw Failure(unreachable: false, message: "\(address) did not answer HTTP")
        }
        let head = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(unreachable: false, message: "\(address) did not answer HTTP")
        }
        return Response(status: status, body: Data(data[end.upperBound...]))
    }

    /// GETs `path` from the host serving in `directory` and decodes the JSON answer; `nil` when no host runs
    /// there. A host that answers with an error (401: the token file is not readable here) is an error.
    public static func fetch<T: Decodable>(_ type: T.Type, _ path: String, directory: StateDirectory) throws -> T? {
        guard let (address, token) = endpoint(directory) else { return nil }
        let response: Response
        do {
            response = try get(path, from: address, token: token)
        } catch {
            if error.unreachable { return nil }
            throw TallyError(.hostUnreachable, error.message)
        }
        guard response.status == 200 else {
            let message = (try? TallyJSON.decode(ProtocolErrorBody.self, from: response.body).message) ?? "status \(response.status)"
            throw TallyError(response.status == 401 ? .accessDenied : .usageError, "the running host's admin interface at \(address) refused: \(message)",
                             remedy: response.status == 401 ? "Run this as a user who can read the admin token file, or stop the host to read the store directly." : "See `tally host serve`'s log.")
        }
        do {
            return try TallyJSON.decode(type, from: response.body)
        } catch {
            throw TallyError(.usageError, "the admin interface at \(address) sent an answer this tally cannot read: \(error)")
        }
    }
}
