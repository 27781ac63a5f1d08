import Foundation
import TallyCore
import TallyDNS

/// One domain of the host's publish list (KMS's publish list): the SRV record goes to `_service._tcp.domain`
/// with this priority and weight.
public struct DNSPublishEntry: Codable, Sendable, Equatable, CustomStringConvertible {
    public var domain: String
    public var priority: Int
    public var weight: Int

    public init(domain: String, priority: Int = 0, weight: Int = 0) {
        self.domain = domain
        self.priority = priority
        self.weight = weight
    }

    /// `DOMAIN:PRIORITY:WEIGHT`
    public var description: String { "\(domain):\(priority):\(weight)" }

    /// Parses `DOMAIN[:PRIORITY[:WEIGHT]]` entries separated by commas; `none` or nothing is the empty list.
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
            entries.append(DNSPublishEntry(domain: domain, priority: numbers.first ?? 0, weight: numbers.dropFirst().first ?? 0))
        }
        return entries
    }
}
