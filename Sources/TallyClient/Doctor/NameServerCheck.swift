import TallyCore
import TallyDNS

/// Check 2: name servers are configured, in resolv.conf or for Tally (`tally client set-dns-servers`,
/// `$TALLY_DNS_SERVERS`, `DiscoveryOptions`).
/// None is 8007267C. Skipped when a host is pinned: the client then never looks in DNS.
package struct NameServerCheck: DoctorCheck {
    package var name: DoctorCheckName { .nameServers }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        if let pinned = session.pinnedHost {
            return .pass(name, "pinned host \(pinned), DNS not used")
        }
        let configuration: ResolverConfiguration
        switch session.resolver {
        case let .failure(error): return .fail(name, error.code, error.message, remedy: error.remedy)
        case let .success(value): configuration = value
        }
        let source = session.discovery.nameServers == nil ? "from \(session.discovery.resolvConfPath)"
            : session.requestedDiscovery.nameServers == nil ? "set with `tally client set-dns-servers`" : "configured for Tally"
        guard !configuration.nameServers.isEmpty else {
            return .fail(name, .noDNSServer, "no DNS server is configured (\(session.discovery.nameServers != nil ? "the configured list is empty" : "\(session.discovery.resolvConfPath) names none")), so no host can be discovered",
                         remedy: "Add a `nameserver` line to \(session.discovery.resolvConfPath) (or set name servers for Tally: `tally client set-dns-servers ADDR[:PORT],...`), or pin the activation host: `tally client skms HOST[:PORT]`.")
        }
        var finding = "\(DoctorText.plural(configuration.nameServers.count, "name server")) \(source): "
            + configuration.nameServers.map(\.description).joined(separator: ", ")
        if let domain = session.settings.domain {
            finding += "; domain \(domain) (skms-domain)"
        } else if !configuration.searchDomains.isEmpty {
            finding += "; search list: " + configuration.searchDomains.map { DoctorText.domain($0) }.joined(separator: " ")
        }
        finding += "; timeout \(HTTPClient.format(configuration.timeout)) s, \(DoctorText.plural(configuration.attempts, "attempt"))"
        let warnings = session.resolvConfWarnings
        guard warnings.isEmpty else {
            return .warn(name, nil, finding + "; but \(session.discovery.resolvConfPath) has lines that were skipped: " + warnings.joined(separator: "; "),
                         remedy: "Fix or remove those lines in \(session.discovery.resolvConfPath).")
        }
        return .pass(name, finding)
    }
}
