import Foundation
import TallyCore
import TallyDNS

/// One domain of the host's publish list (KMS's publish list): the SRV record goes to `_service._tcp.domain`
/// with this priority and weight.
public struct DNSPublishEntry: Codable, Sendable, Equatable, CustomStringConvertible {
    public var domain: String
    public var priority: Int
    public var weight: Int

    /// The weight of an entry that gives none: 10, as in the docs' examples. RFC 2782 picks among the records of
    /// one priority with probability proportional to weight, and gives a weight-0 record almost no clients while
    /// records with weights are present; so a host published with the default next to hosts whose weight was
    /// set gets its share, and hosts that all keep the default share the clients equally.
    public static let defaultWeight = 10

    /// The help of the `dns-publish-list` setting (`tally host set --help`).
    public static let listHelp = "DOMAIN[:PRIORITY[:WEIGHT]],... to publish the SRV record in, or none (resolv.conf's domain); "
        + "priority defaults to 0, weight to \(defaultWeight): RFC 2782 gives a weight-0 record almost no clients next to weighted ones"

    public init(domain: String, priority: Int = 0, weight: Int = DNSPublishEntry.defaultWeight) {
        self.domain = domain
        self.priority = priority
        self.weight = weight
    }

    /// `DOMAIN:PRIORITY:WEIGHT`
    public var description: String { "\(domain):\(priority):\(weight)" }

    /// Parses `DOMAIN[:PRIORITY[:WEIGHT]]` entries separated by commas (priority 0 and weight ``defaultWeight``
    /// when left out); `none` or nothing is the empty list.
    public static func parseList(_ text: String) throws(TallyError) -> [DNSPublishEntry] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "none" { return [] }
        var entries: [DNSPublishEntry] = []
        for item in trimmed.split(separator: ",") {
            let parts = item.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            func bad(_ why: String) -> TallyError {
                TallyError(.usageError, "'\(item)' is not DOMAIN[:PRIORITY[:WEIGHT]]: \(why)",
                           remedy: "Give the publish list as e.g. `example.com:0:10,branch.example.com:10:0`.")
            }
            guard parts.count <= 3, let domain = parts.first, (try? DNSName(domain)) != nil, !domain.isEmpty else {
                throw bad("the domain is not a DNS name")
            }
            var numbers: [Int] = []
            for part in parts.dropFirst() {
                guard let number = Int(part), (0...65_535).contains(number) else { throw bad("priority and weight are 0 to 65535") }
                numbers.append(number)
            }
            entries.append(DNSPublishEntry(domain: domain, priority: numbers.first ?? 0, weight: numbers.dropFirst().first ?? defaultWeight))
        }
        return entries
    }
}
