import Foundation
import TallyCore

/// The enterprise proxy a host reaches the vendor through: `HTTPS_PROXY` (or `https_proxy`) names it,
/// `NO_PROXY` (or `no_proxy`) the hosts reached directly. Only `https://` vendor URLs go through it, as an HTTP
/// `CONNECT` tunnel; TLS runs end to end inside the tunnel, so the proxy sees the vendor's name, not the request.
public struct ProxySettings: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// `Proxy-Authorization` value (Basic) from `user:password@` in the proxy URL.
        public var authorization: String?

        public init(host: String, port: Int, authorization: String? = nil) {
            self.host = host
            self.port = port
            self.authorization = authorization
        }
    }

    public var server: Server?
    /// `NO_PROXY` entries, lower-cased: `*`, a host, `.domain` or `domain` (both match subdomains), an IP address,
    /// each optionally with `:PORT`.
    public var noProxy: [String]

    public init(server: Server? = nil, noProxy: [String] = []) {
        self.server = server
        self.noProxy = noProxy
    }

    /// No proxy at all.
    public static let direct = ProxySettings()

    /// Reads `HTTPS_PROXY`/`https_proxy` and `NO_PROXY`/`no_proxy` (the lower-case name wins when both are set).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(TallyError) -> ProxySettings {
        func value(_ name: String) -> String? {
            [environment[name.lowercased()], environment[name]].compactMap { $0 }.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        let noProxy = (value("NO_PROXY") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        guard let text = value("HTTPS_PROXY") else { return ProxySettings(noProxy: noProxy) }
        return ProxySettings(server: try parse(text), noProxy: noProxy)
    }

    /// Parses `http://[user:password@]host[:port]` (the scheme may be left out; the port defaults to 1080, as curl's).
    public static func parse(_ text: String) throws(TallyError) -> Server {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.contains("://") { trimmed = "http://" + trimmed }
        guard let components = URLComponents(string: trimmed), var host = components.host, !host.isEmpty else {
            throw TallyError(.proxyFailed, "HTTPS_PROXY '\(text)' is not a proxy URL such as http://proxy.example.com:3128")
        }
        guard components.scheme?.lowercased() == "http" else {
            throw TallyError(.proxyFailed, "HTTPS_PROXY '\(text)': only an http:// proxy (CONNECT) is supported, not \(components.scheme ?? "?")://")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var authorization: String?
        if let user = components.user {
            let credentials = (user.removingPercentEncoding ?? user) + ":" + ((components.password?.removingPercentEncoding) ?? "")
            authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        }
        return Server(host: host, port: components.port ?? 1080, authorization: authorization)
    }

    /// The proxy to use for `url`, or `nil` to connect directly.
    public func proxy(for url: VendorURL) -> Server? {
        guard url.secure, let server else { return nil }
        let host = url.host.lowercased()
        for entry in noProxy {
            if entry == "*" { return nil }
            var name = entry
            var port: Int?
            if let colon = entry.lastIndex(of: ":"), !entry.hasPrefix("["), entry.filter({ $0 == ":" }).count == 1 {
                name = String(entry[..<colon])
                port = Int(entry[entry.index(after: colon)...])
            }
            if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
            if let port, port != url.port { continue }
            if name.hasPrefix(".") { name.removeFirst() }
            if host == name || host.hasSuffix("." + name) { return nil }
        }
        return server
    }
}
