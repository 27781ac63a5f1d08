import TallyDNS

extension DiscoveryOptions {
    /// These options with the DNS settings stored in the client's state (`tally client set-dns-servers`,
    /// `set-resolv-conf`) where they leave them open: the stored name servers when ``nameServers`` is `nil`, the
    /// stored resolv.conf when ``resolvConfPath`` is the system's. What an application gives explicitly (and, on the
    /// command line, `$TALLY_DNS_SERVERS` and `$TALLY_RESOLV_CONF`) wins over what is stored.
    public func applying(_ settings: ClientSettings) -> DiscoveryOptions {
        var options = self
        if options.nameServers == nil, let servers = settings.dnsServers { options.nameServers = servers }
        if options.resolvConfPath == ResolverConfiguration.systemPath, let path = settings.resolvConf { options.resolvConfPath = path }
        return options
    }
}
