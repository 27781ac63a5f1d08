import Foundation
import TallyCore

/// A host and TCP port to contact: `host`, `host:port`, `[v6]:port` or a bare IPv6 address.
public struct HostAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A DNS name, an IPv4 address or an IPv6 address (without brackets).
    public var host: String
    public var port: Int

    public init(host: String, port: Int = Intervals.defaultPort) {
        self.host = host
        self.port = port
    }

    /// Parses what `tally client skms` takes: `host`, `host:port`, `[::1]`, `[::1]:1688` or `::1`.
    ///
    /// - Throws: ``TallyError`` with ``ResultCode/usageError`` naming what is wrong.
    public init(parsing text: String) throws(TallyError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func bad(_ why: String) -> TallyError {
            TallyError(.usageError, "'\(text)' is not a host: \(why)",
                       remedy: "Give the host as NAME, NAME:PORT, IPv4:PORT or [IPv6]:PORT, e.g. `kms.example.com:1688` or `[::1]:1688`.")
        }
        var host = trimmed
        var portText: String?
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw bad("the IPv6 address has no closing ']'") }
            host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw bad("only ':PORT' may follow ']'") }
                portText = String(rest.dropFirst())
            }
        } else if trimmed.filter({ $0 == ":" }).count == 1, let colon = trimmed.firstIndex(of: ":") {
            host = String(trimmed[..<colon])
            portText = String(trimmed[trimmed.index(after: colon)...])
        }
        // Several colons without brackets: a bare IPv6 address on the default port.
        guard !host.isEmpty else { throw bad("the host name is empty") }
        guard host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "@")
            && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "]") }) else {
            throw bad("the host name has a character host names never have")
        }
        var port = Intervals.defaultPort
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else { throw bad("the port must be a number from 1 to 65535") }
            port = number
        }
        self.init(host: host, port: port)
    }

    /// `host:port`, with brackets around an IPv6 address.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try HostAddress(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A client's discovery settings, kept in `settings.json` in the state directory (KMS's `skms`, `skms-domain`,
/// `skhc`).
public struct ClientSettings: Codable, Sendable, Equatable {
    /// The host pinned with `skms`: it overrides discovery.
    public var pinnedHost: HostAddress?
    /// The domain to discover hosts in (`skms-domain`), instead of the resolver's search list.
    public var domain: String?
    /// Whether a host that answered is reused before discovering again (on by default, as in KMS).
    public var hostCaching: Bool
    /// The discovered host that last answered, reused while host caching is on.
    public var cachedHost: HostAddress?
    /// The SRV target name of the discovered host that last answered (`dli`'s "host name from DNS").
    public var discoveredHostName: String?
    /// Name servers `ADDR[:PORT]` discovery asks instead of resolv.conf's (`tally client set-dns-servers`).
    public var dnsServers: [String]?
    /// The resolv.conf discovery reads instead of /etc/resolv.conf (`tally client set-resolv-conf`).
    public var resolvConf: String?

    public init(pinnedHost: HostAddress? = nil, domain: String? = nil, hostCaching: Bool = true, cachedHost: HostAddress? = nil,
                discoveredHostName: String? = nil, dnsServers: [String]? = nil, resolvConf: String? = nil) {
        self.pinnedHost = pinnedHost
        self.domain = domain
        self.hostCaching = hostCaching
        self.cachedHost = cachedHost
        self.discoveredHostName = discoveredHostName
        self.dnsServers = dnsServers
        self.resolvConf = resolvConf
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pinnedHost = try container.decodeIfPresent(HostAddress.self, forKey: .pinnedHost)
        domain = try container.decodeIfPresent(String.self, forKey: .domain)
        hostCaching = try container.decodeIfPresent(Bool.self, forKey: .hostCaching) ?? true
        cachedHost = try container.decodeIfPresent(HostAddress.self, forKey: .cachedHost)
        discoveredHostName = try container.decodeIfPresent(String.self, forKey: .discoveredHostName)
        dnsServers = try container.decodeIfPresent([String].self, forKey: .dnsServers)
        resolvConf = try container.decodeIfPresent(String.self, forKey: .resolvConf)
    }
}
