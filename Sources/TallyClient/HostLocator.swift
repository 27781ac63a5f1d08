import TallyCore

/// The hosts to try for one activation, in order.
package struct HostCandidates: Sendable, Equatable {
    package var hosts: [HostAddress]
    /// Whether the hosts came from a pin (`skms`): a pinned host that does not answer is C004F039; when every
    /// discovered host fails the answer is C004F074.
    package var pinned: Bool
    /// Whether the host is the cached one (host caching): when it fails, the client discovers afresh.
    package var cached: Bool
    /// The SRV target name each discovered address belongs to, for `dli`.
    package var names: [HostAddress: String]

    package init(hosts: [HostAddress], pinned: Bool, cached: Bool = false, names: [HostAddress: String] = [:]) {
        self.hosts = hosts
        self.pinned = pinned
        self.cached = cached
        self.names = names
    }
}

/// Finds the hosts a client should try. The seam where DNS SRV discovery plugs in: `activate` only asks a
/// locator for candidates and tries them in order.
package protocol HostLocator: Sendable {
    /// - Parameter service: the DNS service label of the vendor's catalog (`_<service>._tcp`).
    func candidates(settings: ClientSettings, service: String) throws(TallyError) -> HostCandidates
}

/// A locator that only knows the pinned host (tests that must never touch DNS).
package struct PinnedHostLocator: HostLocator {
    package init() {}

    package func candidates(settings: ClientSettings, service: String) throws(TallyError) -> HostCandidates {
        if let pinned = settings.pinnedHost { return HostCandidates(hosts: [pinned], pinned: true) }
        throw TallyError(.noDNSServer,
                         "no host is pinned, and finding hosts through DNS SRV records is not available in this version of the client"
                            + (settings.domain.map { " (domain \($0) is stored for when it is)" } ?? ""),
                         remedy: "Pin the activation host: `tally client skms HOST[:PORT]` (or `setHost` in the library).")
    }
}
