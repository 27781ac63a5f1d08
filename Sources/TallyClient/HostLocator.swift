import TallyCore

/// The hosts to try for one activation, in order.
package struct HostCandidates: Sendable, Equatable {
    package var hosts: [HostAddress]
    /// Whether the hosts came from a pin (`skms`): a pinned host that does not answer is C004F039; when every
    /// discovered host fails the answer is C004F074.
    package var pinned: Bool

    package init(hosts: [HostAddress], pinned: Bool) {
        self.hosts = hosts
        self.pinned = pinned
    }
}

/// Finds the hosts a client should try. The seam where DNS SRV discovery plugs in: `activate` only asks a
/// locator for candidates and tries them in order.
package protocol HostLocator: Sendable {
    func candidates(settings: ClientSettings) throws(TallyError) -> HostCandidates
}

/// The locator used until DNS discovery exists: the pinned host, else a clear error.
package struct PinnedHostLocator: HostLocator {
    package init() {}

    package func candidates(settings: ClientSettings) throws(TallyError) -> HostCandidates {
        if let pinned = settings.pinnedHost { return HostCandidates(hosts: [pinned], pinned: true) }
        throw TallyError(.noDNSServer,
                         "no host is pinned, and finding hosts through DNS SRV records is not available in this version of the client"
                            + (settings.domain.map { " (domain \($0) is stored for when it is)" } ?? ""),
                         remedy: "Pin the activation host: `tally client skms HOST[:PORT]` (or `setHost` in the library).")
    }
}
