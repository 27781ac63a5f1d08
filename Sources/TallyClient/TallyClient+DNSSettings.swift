import Foundation
import TallyCore
import TallyDNS

extension TallyClient {
    /// Stores the name servers DNS discovery asks (`tally client set-dns-servers`), `ADDR[:PORT]` each, IPv4 or
    /// IPv6 (`[2001:db8::53]:5353`), instead of resolv.conf's; `nil` goes back to resolv.conf's. An application's
    /// own ``DiscoveryOptions/nameServers`` wins over what is stored. A list that does not parse changes nothing.
    @discardableResult
    public func setDNSServers(_ servers: [String]?) throws(TallyError) -> ClientSettings {
        if let servers {
            guard !servers.isEmpty else {
                throw TallyError(.usageError, "no name server given",
                                 remedy: "Give ADDR[:PORT],... (e.g. `192.0.2.53,[2001:db8::53]:5353`), or `none` for resolv.conf's.")
            }
            for server in servers {
                do {
                    _ = try DNSServerAddress(parsing: server)
                } catch {
                    throw TallyError(.usageError, "'\(server)' is not a name server address: \(error.detail)",
                                     remedy: "Give name servers as ADDR[:PORT], e.g. `192.0.2.53` or `[2001:db8::53]:5353`, separated by commas.")
                }
            }
        }
        return try updateSettings { $0.dnsServers = servers }
    }

    /// Stores the resolv.conf DNS discovery reads (search list, `timeout:`, `attempts:`, and the name servers
    /// unless ``setDNSServers(_:)`` set others) instead of /etc/resolv.conf (`tally client set-resolv-conf`);
    /// `nil` goes back to /etc/resolv.conf. The path must be absolute and name a readable file.
    @discardableResult
    public func setResolvConf(_ path: String?) throws(TallyError) -> ClientSettings {
        if let path {
            var isDirectory: ObjCBool = false
            guard path.hasPrefix("/") else {
                throw TallyError(.usageError, "'\(path)' is not an absolute path", remedy: "Give the resolv.conf's full path, e.g. /etc/tally/resolv.conf.")
            }
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  FileManager.default.isReadableFile(atPath: path) else {
                throw TallyError(.usageError, "\(path) is not a readable file",
                                 remedy: "Give the path of a resolv.conf (lines such as `nameserver 192.0.2.53` and `search corp.example.com`).")
            }
        }
        return try updateSettings { $0.resolvConf = path }
    }
}
