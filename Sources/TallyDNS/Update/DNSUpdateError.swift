/// Why an update was not applied, with a remedy fitted to the cause: what event 12293 reports.
///
/// `code` is the DNS response code or TSIG error the server sent (REFUSED, NOTAUTH, BADSIG, BADKEY, BADTIME…)
/// when there is one. Two errors are equal when reason and code are equal.
public struct DNSUpdateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The server answered the update with an error response code.
        case rejected
        /// The server refused the request's TSIG (BADSIG, BADKEY, BADTIME).
        case signatureRejected
        /// The answer's own TSIG is missing, from another key, or does not verify: it cannot be trusted.
        case answerNotTrusted
        /// The answer was signed at a time too far from this host's clock.
        case clockSkew
        /// The zone (SOA) holding the name could not be found.
        case noZone
        /// The zone's primary name server has no address, or none answered.
        case primaryUnreachable
        /// The update could not be written (a name or record too large).
        case invalidUpdate
    }

    public var reason: Reason
    public var code: DNSResponseCode?
    public var message: String
    public var remedy: String

    public init(_ reason: Reason, code: DNSResponseCode? = nil, _ message: String, remedy: String) {
        self.reason = reason
        self.code = code
        self.message = message
        self.remedy = remedy
    }

    public static func == (lhs: DNSUpdateError, rhs: DNSUpdateError) -> Bool {
        lhs.reason == rhs.reason && lhs.code == rhs.code
    }

    /// `REFUSED`, `BADSIG`…, or the reason when the server sent no code.
    public var codeName: String { code?.description ?? reason.rawValue }

    public var description: String { "\(message)\nRemedy: \(remedy)" }

    /// The error for a response code in the answer to an update.
    static func rejected(_ code: DNSResponseCode, zone: DNSName, server: DNSServerAddress, key: TSIGKey, unsigned: Bool) -> DNSUpdateError {
        let grant = "update-policy { grant \(key.name.description.dropLast()) zonesub ANY; };"
        let remedy: String
        switch code {
        case .refused:
            remedy = "Grant this host's key update rights in zone \(zone): add `\(grant)` to the zone's statement in named.conf "
                + "(or `grant \(key.name.description.dropLast()) name \(zone) SRV;` for less), then `rndc reconfig`."
        case .notAuth:
            remedy = "\(server) is not the primary for \(zone), or does not accept key \(key.name): send updates to the zone's "
                + "primary (`tally host set dns-primary HOST[:PORT]`) and grant the key update rights there with `\(grant)`."
        case .notZone:
            remedy = "The record lies outside zone \(zone): check the publish domain, or set the zone's primary explicitly."
        case .serverFailure:
            remedy = "The name server could not apply the update: check its log (is the zone dynamic, and is its journal file writable by named?)."
        case .formatError, .notImplemented:
            remedy = "\(server) does not take signed dynamic updates: check that it is the zone's primary and supports RFC 2136 and TSIG."
        default:
            remedy = "Check the name server's log for why it answered \(code) to an update of \(zone)."
        }
        return DNSUpdateError(.rejected, code: code,
                              "the name server \(server) answered \(code) to the update of zone \(zone)\(unsigned ? " (answer not signed)" : "")",
                              remedy: remedy)
    }

    /// The error for a TSIG error the server sent back.
    static func signatureRejected(_ code: DNSResponseCode, server: DNSServerAddress, key: TSIGKey, clockDifference: Int64?) -> DNSUpdateError {
        let remedy: String
        switch code {
        case .badSignature:
            remedy = "The secret of key \(key.name) differs from the name server's: copy the key file (`tsig-keygen` output) from the server again."
        case .badKey:
            remedy = "The name server knows no key \(key.name) with algorithm \(key.algorithm): make the key's name and algorithm match the "
                + "server's `key` statement, and name the key in the zone's update-policy."
        case .badTime:
            let by = clockDifference.map { " by \(abs($0)) s" } ?? ""
            remedy = "This host's clock differs from the name server's\(by), more than the \(TSIGSigner.defaultFudge) s TSIG allows: "
                + "synchronise both clocks (NTP)."
        default:
            remedy = "The name server refused the request's signature (\(code)): check key \(key.name) on both sides."
        }
        return DNSUpdateError(.signatureRejected, code: code, "the name server \(server) rejected the update's TSIG signature: \(code)", remedy: remedy)
    }
}
