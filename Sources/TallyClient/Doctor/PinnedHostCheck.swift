import TallyCore
import TallyDNS

/// Check 9: a host pinned with `skms` while DNS has SRV records. Pinned clients never look in DNS, so when the
/// pinned host fails they do not move to another host (C004F039) the way discovering clients do.
package struct PinnedHostCheck: DoctorCheck {
    package var name: DoctorCheckName { .pinnedHost }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        guard let pinned = session.pinnedHost else {
            return .pass(name, "no host is pinned: DNS discovery is used")
        }
        switch session.lookups {
        case .unavailable, .noDomain:
            return .pass(name, "\(pinned) is pinned; no DNS domain could be searched, so there are no SRV records it overrides")
        case .done:
            break
        }
        guard let discovered = session.discovered else {
            return .pass(name, "\(pinned) is pinned; DNS has no SRV records it overrides")
        }
        let targets = discovered.answer.records.map { "\(DoctorText.domain($0.target)):\($0.port)" }.joined(separator: ", ")
        return .warn(name, .hostDidNotRespond,
                     "\(pinned) is pinned (skms), overriding the SRV records of \(discovered.lookup.owner) (\(targets)): pinned clients do not move to another host when this one fails",
                     remedy: "Unless the pin is deliberate, go back to discovery: `tally client ckms`. If it is, re-point pinned clients when the host moves (`tally client skms NEWHOST`).")
    }
}
