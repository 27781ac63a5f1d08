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

/// The hosts to try for one activation, handed out one at a time by ``next(skipping:)``.
///
/// Hosts known up front (a pinned or cached host) come first. Discovered SRV targets are looked up one at a time,
/// in RFC 2782 order, only once the hosts before them have been handed out: resolve one, try it, then the next.
/// A discovered queue also stops at its limits: at most ``DiscoveryOptions/maximumTargets`` targets, and nothing
/// more after the discovery deadline (``DiscoveryOptions/deadline``), which counts the time spent trying hosts.
package struct HostQueue: Sendable {
    package let pinned: Bool
    package let cached: Bool
    /// The SRV target name of each discovered address handed out (or about to be), for `dli`.
    package private(set) var names: [HostAddress: String]
    /// Hosts in hand, not yet handed out.
    private var ready: [HostAddress]
    /// The discovered targets not yet looked up; `nil` for a pinned or cached host.
    private var targets: SRVTargetQueue?

    /// A queue over hosts known up front (a pinned or cached host, or a locator that knows every host at once).
    package init(_ candidates: HostCandidates) {
        pinned = candidates.pinned
        cached = candidates.cached
        names = candidates.names
        ready = candidates.hosts
        targets = nil
    }

    /// A queue over discovered SRV targets, looked up as they come.
    init(targets: SRVTargetQueue) {
        pinned = false
        cached = false
        names = [:]
        ready = []
        self.targets = targets
    }

    /// The next host to try, skipping those in `tried`; `nil` when none is left, or a discovered queue reached its
    /// deadline. May look the next SRV target's addresses up (bounded by the deadline).
    package mutating func next(skipping tried: Set<HostAddress> = []) -> HostAddress? {
        while true {
            if var pending = targets, !ready.isEmpty || pending.hasMore {
                let passed = pending.deadlinePassed()
                targets = pending
                if passed { return nil }
            }
            if !ready.isEmpty {
                let host = ready.removeFirst()
                if tried.contains(host) { continue }
                return host
            }
            guard var pending = targets, let target = pending.nextTarget() else { return nil }
            targets = pending
            for host in target.hosts where names[host] == nil {
                names[host] = target.name
                ready.append(host)
            }
        }
    }

    /// Whether ``next(skipping:)`` may hand out another host: hosts in hand, or targets not yet looked up before
    /// the deadline. (A host tried while others may follow is dropped sooner when it does not answer.)
    package var mayHaveMore: Bool {
        !ready.isEmpty || (targets.map { $0.hasMore && !$0.expired } ?? false)
    }

    /// Why the queue stopped short, to append to a failure message: `""`, or "; only the first 16 of the 41 SRV
    /// targets are tried", "; discovery stopped at its 10 s deadline with 3 SRV targets not tried".
    package var limitNote: String { targets?.limitNote ?? "" }

    /// Every host the queue hands out, with their names (the limits apply as they do for ``next(skipping:)``).
    package mutating func drain() -> HostCandidates {
        var hosts: [HostAddress] = []
        while let host = next() { hosts.append(host) }
        return HostCandidates(hosts: hosts, pinned: pinned, cached: cached, names: names)
    }
}

/// Finds the hosts a client should try. The seam where DNS SRV discovery plugs in: `activate` only asks a
/// locator for hosts and tries them in order.
package protocol HostLocator: Sendable {
    /// Every host to try, at once (`tally doctor` lists them).
    ///
    /// - Parameter service: the DNS service label of the vendor's catalog (`_<service>._tcp`).
    func candidates(settings: ClientSettings, service: String) throws(TallyError) -> HostCandidates

    /// The hosts to try, one at a time, for activation: discovered targets are looked up only as the ones before
    /// them fail. By default, ``candidates(settings:service:)`` in a queue.
    func queue(settings: ClientSettings, service: String) throws(TallyError) -> HostQueue
}

extension HostLocator {
    package func queue(settings: ClientSettings, service: String) throws(TallyError) -> HostQueue {
        HostQueue(try candidates(settings: settings, service: service))
    }
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
