import Foundation

extension ResolverConfiguration {
    /// The system's resolver configuration file.
    public static let systemPath = "/etc/resolv.conf"

    /// Reads and parses a resolv.conf file. A missing file is an empty configuration (no name servers), which
    /// lookups report as "no DNS server configured" (0x8007267C), as KMS does.
    public static func load(path: String = ResolverConfiguration.systemPath) -> (configuration: ResolverConfiguration, warnings: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (ResolverConfiguration(), ["\(path) could not be read"])
        }
        return parse(resolvConf: String(decoding: data, as: UTF8.self))
    }
}
