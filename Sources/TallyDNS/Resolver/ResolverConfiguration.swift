/// What a resolver needs to know: the name servers, the search list and how long and how often to try.
///
/// Read from `/etc/resolv.conf` with ``parse(resolvConf:)`` and ``load(path:)``, or built by hand (tests use
/// a name server on a high port). Every field has a default; the numbers are glibc's.
public struct ResolverConfiguration: Sendable, Equatable {
    /// glibc uses at most three; Tally takes every one listed.
    public var nameServers: [DNSServerAddress]
    /// Domains to try, in order (`search`, or the single `domain`).
    public var searchDomains: [DNSName]
    /// Seconds to wait for one answer from one server (`options timeout:`, default 5, at most 30).
    public var timeout: Double
    /// Rounds over all servers (`options attempts:`, default 2, at most 5).
    public var attempts: Int
    /// The EDNS UDP payload size advertised; `nil` sends no OPT record.
    public var udpPayloadSize: UInt16?

    public static let defaultTimeout: Double = 5
    public static let defaultAttempts = 2

    public init(nameServers: [DNSServerAddress] = [], searchDomains: [DNSName] = [], timeout: Double = ResolverConfiguration.defaultTimeout,
                attempts: Int = ResolverConfiguration.defaultAttempts, udpPayloadSize: UInt16? = EDNS.defaultUDPPayloadSize) {
        self.nameServers = nameServers
        self.searchDomains = searchDomains
        self.timeout = timeout
        self.attempts = attempts
        self.udpPayloadSize = udpPayloadSize
    }

    /// Parses resolv.conf text as glibc does: `nameserver` lines add servers (IPv4 or IPv6, with an optional
    /// `%zone`); `search` and `domain` replace the search list, the last one winning; `options timeout:N
    /// attempts:N` set the limits; `#` and `;` start comments; anything else is ignored.
    ///
    /// Nothing in the file is fatal: a line that cannot be read is reported in `warnings` and skipped, as glibc
    /// skips it.
    public static func parse(resolvConf text: String) -> (configuration: ResolverConfiguration, warnings: [String]) {
        var configuration = ResolverConfiguration()
        var warnings: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            if let comment = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<comment] }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let keyword = words.first else { continue }
            let arguments = Array(words.dropFirst())
            switch keyword {
            case "nameserver":
                guard let text = arguments.first else {
                    warnings.append("line \(index + 1): 'nameserver' without an address")
                    continue
                }
                do {
                    // resolv.conf has no port syntax; a bracketed or plain address only.
                    configuration.nameServers.append(try DNSServerAddress(host: text, port: 53))
                } catch {
                    warnings.append("line \(index + 1): \(error.detail)")
                }
            case "search", "domain":
                var domains: [DNSName] = []
                for word in arguments where word != "." {
                    do {
                        domains.append(try DNSName(word))
                    } catch {
                        warnings.append("line \(index + 1): '\(word)' is not a domain name")
                    }
                }
                configuration.searchDomains = keyword == "domain" ? Array(domains.prefix(1)) : domains
            case "options":
                for option in arguments {
                    if option.hasPrefix("timeout:") {
                        if let value = Int(option.dropFirst("timeout:".count)), value >= 0 {
                            configuration.timeout = Double(min(max(value, 1), 30))
                        } else {
                            warnings.append("line \(index + 1): '\(option)' is not timeout:SECONDS")
                        }
                    } else if option.hasPrefix("attempts:") {
                        if let value = Int(option.dropFirst("attempts:".count)), value >= 0 {
                            configuration.attempts = min(max(value, 1), 5)
                        } else {
                            warnings.append("line \(index + 1): '\(option)' is not attempts:COUNT")
                        }
                    }
                }
            default:
                continue
            }
        }
        return (configuration, warnings)
    }
}
