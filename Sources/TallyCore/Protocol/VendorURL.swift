import Foundation

/// The address of the vendor's online service, as a catalog's `vendor.url`, a certificate's `vurl` or a host's
/// `--online URL` gives it: `https://HOST[:PORT][/PATH]`. Plain `http://` is accepted only for a loopback host
/// (a TLS-terminating proxy or a test on the same machine), never across a network.
public struct VendorURL: Sendable, Hashable, CustomStringConvertible {
    public var secure: Bool
    /// The host name or IP address, without brackets.
    public var host: String
    public var port: Int
    /// A path prefix without a trailing slash ("" for none): the service's endpoints live below it.
    public var basePath: String

    public init?(_ text: String) {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespaces)),
              let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
              var host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
        else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        secure = scheme == "https"
        self.host = host
        port = components.port ?? (secure ? 443 : 80)
        guard (1...65_535).contains(port) else { return nil }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
        guard secure || isLoopback else { return nil }
    }

    /// Whether the host is this machine: `localhost`, `127.0.0.1` or `::1`.
    public var isLoopback: Bool { ["localhost", "127.0.0.1", "::1"].contains(host.lowercased()) }

    /// Whether the host is an IP address literal rather than a name.
    public var hostIsIPAddress: Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    /// `host:port` as a `Host` header or a CONNECT target names it (IPv6 in brackets).
    public var authority: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    /// The path of `endpoint` below the base path.
    public func path(_ endpoint: String) -> String { basePath + endpoint }

    public var description: String {
        let defaultPort = secure ? 443 : 80
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return (secure ? "https://" : "http://") + shownHost + (port == defaultPort ? "" : ":\(port)") + basePath
    }
}
