#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A name server: a numeric IPv4 or IPv6 address (with an optional `%zone` for link-local IPv6) and a port.
public struct DNSServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    /// - Throws: ``DNSError`` with ``DNSError/Kind/badAddress`` unless `host` is a numeric address.
    public init(host: String, port: UInt16 = 53) throws(DNSError) {
        guard DNSServerAddress.socketAddress(host: host, port: port) != nil else {
            throw DNSError(.badAddress, "'\(host)' is not a numeric IPv4 or IPv6 address")
        }
        self.host = host
        self.port = port
    }

    /// Parses `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`, `[2001:db8::1]:5353` and `[fe80::1%eth0]`.
    public init(parsing text: String, defaultPort: UInt16 = 53) throws(DNSError) {
        let trimmed = text.trimmingWhitespace
        var host = trimmed
        var port = defaultPort
        func bad(_ why: String) -> DNSError {
            DNSError(.badAddress, "'\(text)' is not a name server address: \(why)")
        }
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw bad("no closing ']'") }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let number = UInt16(rest.dropFirst()), number > 0 else { throw bad("the port must be 1 to 65535") }
                port = number
            }
        } else if trimmed.filter({ $0 == ":" }).count == 1, let colon = trimmed.firstIndex(of: ":") {
            host = String(trimmed[..<colon])
            guard let number = UInt16(trimmed[trimmed.index(after: colon)...]), number > 0 else { throw bad("the port must be 1 to 65535") }
            port = number
        }
        guard DNSServerAddress.socketAddress(host: host, port: port) != nil else {
            throw bad("not a numeric IPv4 or IPv6 address")
        }
        self.host = host
        self.port = port
    }

    /// `192.0.2.1:53` or `[2001:db8::1]:53`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The socket address for `host` and `port`, or `nil` when `host` is not numeric.
    static func socketAddress(host: String, port: UInt16) -> (storage: sockaddr_storage, length: socklen_t, family: Int32)? {
        var storage = sockaddr_storage()
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = v4
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
        }
        var plain = host
        var scope: UInt32 = 0
        if let percent = host.firstIndex(of: "%") {
            plain = String(host[..<percent])
            let zone = String(host[host.index(after: percent)...])
            scope = UInt32(zone) ?? if_nametoindex(zone)
            guard scope != 0 else { return nil }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, plain, &v6) == 1 else { return nil }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = v6
        address.sin6_scope_id = scope
        withUnsafeBytes(of: address) { source in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6)
    }
}

extension DNSIPv4Address {
    /// Parses dotted-quad text.
    public init?(_ text: String) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        self.init(octets: withUnsafeBytes(of: address) { Array($0) })
    }
}

extension DNSIPv6Address {
    /// Parses IPv6 text in any form `inet_pton` accepts.
    public init?(_ text: String) {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        self.init(octets: withUnsafeBytes(of: address) { Array($0) })
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }.reversed())
    }
}
