import TallyCore

/// Check 4: each SRV target resolves and answers on its port (or the pinned host does), asked with the short
/// timeout the client uses while other hosts remain. `GET /health` is what is asked: it counts nothing.
///
/// No target answering is C004F074; some not answering is a warning (800706BA: stale records or firewalls); a
/// pinned host that does not answer is C004F039.
package struct TargetsCheck: DoctorCheck {
    package var name: DoctorCheckName { .targets }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        let probes = session.probes
        if session.pinnedHost != nil, let pinned = probes.first {
            if let failure = pinned.failure {
                return .fail(name, .hostDidNotRespond, "the pinned host \(pinned.address) does not answer: \(failure)")
            }
            return .pass(name, "the pinned host \(pinned.address) answers")
        }
        let targets = probes.filter(\.target)
        var notes: [String] = []
        if let cached = probes.first(where: \.cached) {
            notes.append(cached.answers
                         ? "the cached host \(cached.label) answers (the client tries it first)"
                         : "the cached host \(cached.label) does not answer (\(cached.failure!)): the client tries it first, then looks in DNS again")
        }
        guard !targets.isEmpty else {
            let reason = session.discovered == nil ? "DNS gave no SRV records (see srv-records)" : "the SRV records name no target"
            if let cached = probes.first(where: \.cached), cached.answers {
                return .pass(name, notes.joined(separator: "; ") + "; SRV targets not checked: \(reason)")
            }
            return .notChecked(name, because: reason)
        }
        let dead = targets.filter { !$0.answers }
        let live = targets.filter(\.answers)
        // In the order the client tries them.
        let parts = targets.map { $0.answers ? "\($0.label) answers" : "\($0.label) \($0.failure!)" } + notes
        let summary = dead.isEmpty
            ? "\(DoctorText.plural(targets.count, "target address")) \(targets.count == 1 ? "answers" : "all answer"): "
            : "\(dead.count) of \(DoctorText.plural(targets.count, "target address")) \(dead.count == 1 ? "does" : "do") not answer: "
        let finding = summary + parts.joined(separator: "; ")
        if dead.isEmpty { return .pass(name, finding) }
        if live.isEmpty {
            return .fail(name, .noHostContacted, finding,
                         remedy: "Check each target: the host runs (`tally host status`), its port is open in every firewall on the path, and the record is not stale (`tally host dns show`; remove records of hosts that are gone).")
        }
        return .warn(name, .hostUnreachable, finding + ". " + Self.cost(of: dead, session: session) + ", so activation still works but is slower",
                     remedy: "Check the targets that do not answer: the host runs, the port is open, or remove their stale records (`tally host dns unpublish` on that host, or `nsupdate`, see docs/DNS.md).")
    }

    /// What a client loses on the dead targets before it reaches one that answers: a host that refuses or never
    /// completes the connection costs the connect timeout; one that accepted the connection and never answered
    /// (a read stall) costs the stall limit.
    static func cost(of dead: [DoctorSession.Probe], session: DoctorSession) -> String {
        let stalled = dead.filter(\.stalled).count
        let unreachable = dead.count - stalled
        var parts: [String] = []
        if unreachable > 0 {
            parts.append("a client waits up to the connect timeout (\(HTTPClient.format(session.client.connectTimeout)) s) on each target it cannot connect to "
                         + "(less when the connection is refused)")
        }
        if stalled > 0 {
            parts.append("a target that accepted the connection and never answered (a read stall) holds each client for the stall limit "
                         + "(\(HTTPClient.format(session.stallTimeout)) s: the connect timeout, at least 1 s, while other hosts remain) before it moves on")
        }
        let text = parts.joined(separator: "; ")
        return text.prefix(1).uppercased() + text.dropFirst()
    }
}
