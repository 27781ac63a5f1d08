import TallyCore
import TallyDNS

/// Check 3: `_<service>._tcp.<domain>` has SRV records, for the `skms-domain` or each domain of the search list.
/// NXDOMAIN is 8007232B, a name without SRV records 8007251D, a server failure or no answer 8007232A. The client
/// stops at the first domain with records; the doctor asks every one and says which the client uses.
package struct SRVRecordsCheck: DoctorCheck {
    package var name: DoctorCheckName { .srvRecords }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        if let pinned = session.pinnedHost {
            return .pass(name, "pinned host \(pinned), DNS not used")
        }
        let results: [DoctorSession.DomainLookup]
        switch session.lookups {
        case let .unavailable(error): return .notChecked(name, because: error.message + " (see name-servers)")
        case let .noDomain(error): return .fail(name, error.code, error.message, remedy: error.remedy)
        case let .done(value, _): results = value
        }
        var parts: [String] = []
        var used: String?
        for lookup in results {
            switch lookup.result {
            case let .success(answer):
                let records = answer.records.map { "\(DoctorText.domain($0.target)):\($0.port) priority \($0.priority) weight \($0.weight)" }
                var part = "\(lookup.owner): \(DoctorText.plural(answer.records.count, "SRV record")) (\(records.joined(separator: ", ")))"
                if used == nil {
                    used = lookup.owner
                    if results.count > 1 { part += " — the client uses these" }
                }
                parts.append(part)
            case let .failure(error):
                parts.append("\(error.code.hex) \(error.message)")
            }
        }
        let finding = parts.joined(separator: "; ")
        let failures = results.compactMap { lookup -> TallyError? in
            if case let .failure(error) = lookup.result { return error }
            return nil
        }
        if used != nil {
            // A failing server before the domain with records delays every discovery by its timeout.
            if let failure = failures.first(where: { $0.code == .dnsServerFailure }) {
                return .warn(name, .dnsServerFailure, finding, remedy: failure.remedy)
            }
            return .pass(name, finding)
        }
        // As the client reports it: a server that failed hides what it would have said.
        let worst = [ResultCode.dnsServerFailure, .dnsNoSRVRecords, .dnsNameNotFound].first { code in failures.contains { $0.code == code } }
            ?? failures.first?.code ?? .dnsNameNotFound
        return .fail(name, worst, finding)
    }
}
