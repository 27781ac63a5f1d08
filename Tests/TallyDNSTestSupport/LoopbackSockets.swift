#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sockets tests hold open on loopback: free ports, a name server that never answers, a host that never answers.
public enum LoopbackSockets {
    /// A port free for both TCP and UDP on 127.0.0.1 and ::1 right now: the kernel picks it (bind to port 0),
    /// then the other three binds are checked. Someone may still take it before it is used; callers retry.
    public static func freePort() -> UInt16? {
        for _ in 0..<20 {
            let tcp = bound(family: AF_INET, type: stream, port: 0)
            guard tcp.fd >= 0 else { continue }
            defer { close(tcp.fd) }
            let others = [bound(family: AF_INET, type: datagram, port: tcp.port), bound(family: AF_INET6, type: datagram, port: tcp.port),
                          bound(family: AF_INET6, type: stream, port: tcp.port)]
            defer { for other in others where other.fd >= 0 { close(other.fd) } }
            if others.allSatisfy({ $0.fd >= 0 }) { return tcp.port }
        }
        return nil
    }

    /// A UDP socket bound on 127.0.0.1 that is never read: queries sent to it vanish without an answer and
    /// without an ICMP error, as with a name server that hangs. Close it with `close(fd)`.
    public static func silentUDP() -> (fd: Int32, port: UInt16) {
        bound(family: AF_INET, type: datagram, port: 0)
    }

    /// A TCP listener on 127.0.0.1 with a backlog, never accepting: connections complete in the kernel, and
    /// nothing is ever answered, as with a host that has stalled. Close it with `close(fd)`.
    public static func stalledTCP(family: Int32 = AF_INET) -> (fd: Int32, port: UInt16) {
        let socket = bound(family: family, type: stream, port: 0)
        if socket.fd >= 0 { _ = listen(socket.fd, 16) }
        return socket
    }

    #if canImport(Glibc)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let datagram = Int32(SOCK_DGRAM.rawValue)
    #else
    static let stream = SOCK_STREAM
    static let datagram = SOCK_DGRAM
    #endif

    static func bound(family: Int32, type: Int32, port: UInt16) -> (fd: Int32, port: UInt16) {
        let fd = socket(family, type, 0)
        guard fd >= 0 else { return (-1, 0) }
        var storage = sockaddr_storage()
        var length: socklen_t
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeBytes(of: address) { source in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) } }
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = in6addr_loopback
            var only: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size))
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeBytes(of: address) { source in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) } }
        }
        let result = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard result == 0 else {
            close(fd)
            return (-1, 0)
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) } }
        let bytes = withUnsafeBytes(of: actual) { Array($0.prefix(4)) }
        return (fd, UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
    }
}
