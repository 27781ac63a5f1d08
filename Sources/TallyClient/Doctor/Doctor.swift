import Foundation
import TallyCore
import TallyDNS

/// One check of the checklist: reads what it needs from the session (which gathers each fact at most once)
/// and returns one finding.
package protocol DoctorCheck: Sendable {
    var name: DoctorCheckName { get }
    func run(_ session: DoctorSession) -> DoctorFinding
}

extension TallyClient {
    /// Walks KMS's troubleshooting checklist on this machine (`tally doctor`): key installed and of the right
    /// type; name servers configured; SRV records present; each target resolves and answers; the host's
    /// certificate; its count against the threshold; the clock against the host's; the last activation result;
    /// a pinned host overriding DNS.
    ///
    /// The doctor reads the state directory and never writes it: no ticket is stored, no event is logged, the
    /// licence is not changed. It asks each host's `/health` (which counts nothing) and then sends one real
    /// activation request, as this machine and for the installed SKU, to the host the client would use, to
    /// check the signed answer: that request is counted like an `ato` (the count includes this machine
    /// anyway). A state copied from another machine is not sent, since its CMID belongs to the other machine.
    ///
    /// It blocks while it works: DNS queries with the discovery timeouts, a connect timeout per target, and
    /// one exchange with the host.
    ///
    /// - Parameters:
    ///   - sku: the SKU to ask the host for; `nil` for the only one installed (or the first, by name, of several).
    ///   - now: this machine's clock, compared with the host's.
    public func doctor(sku: String? = nil, now: Date = Date()) -> DoctorReport {
        let options = (locator as? DNSHostLocator)?.options ?? DiscoveryOptions()
        let session = DoctorSession(client: self, discovery: options, sku: sku, now: now)
        return DoctorReport(checks: DoctorSession.checklist.map { $0.run(session) })
    }
}

extension DoctorSession {
    /// The checks in the order `tally doctor` prints them.
    package static let checklist: [any DoctorCheck] = [
        KeyCheck(), NameServerCheck(), SRVRecordsCheck(), TargetsCheck(), HostCertificateCheck(), CountCheck(),
        ClockSkewCheck(), LastResultCheck(), PinnedHostCheck(),
    ]
}

/// Short texts the checks share.
enum DoctorText {
    /// `4 h 10 min`, `12 min 5 s`, `40 s`.
    static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(abs(seconds).rounded())
        let days = total / 86_400, hours = total % 86_400 / 3600, minutes = total % 3600 / 60, rest = total % 60
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return minutes == 0 ? "\(hours) h" : "\(hours) h \(minutes) min" }
        if minutes > 0 { return rest == 0 ? "\(minutes) min" : "\(minutes) min \(rest) s" }
        return "\(rest) s"
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    /// A DNS name without its final dot.
    static func domain(_ name: DNSName) -> String {
        self.name(name.description)
    }

    static func plural(_ count: Int, _ word: String) -> String {
        "\(count) \(word)\(count == 1 ? "" : word.hasSuffix("s") ? "es" : "s")"
    }

    /// A name as written in messages, without the final dot.
    static func name(_ text: String) -> String {
        text.count > 1 && text.hasSuffix(".") ? String(text.dropLast()) : text
    }
}
