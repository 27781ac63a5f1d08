import ArgumentParser
import Foundation
import TallyClient
import TallyCore

/// `tally client set-dns-servers` and `set-resolv-conf`: the DNS settings of discovery, stored in the client's
/// state directory as `skms-domain` is.
enum ClientDNSText {
    static func describe(_ settings: ClientSettings) -> String {
        SettingsText.describe(settings) + "\n" + """
        name servers: \(settings.dnsServers?.joined(separator: ", ") ?? "none set (resolv.conf's)")
        resolv.conf:  \(settings.resolvConf ?? "none set (/etc/resolv.conf)")
        """
    }
}

/// A verb that changes one DNS setting and shows the discovery settings with the DNS ones.
protocol ClientDNSVerb: ParsableCommand {
    var client: ClientOptions { get }
    var output: OutputOptions { get }
    func change(_ client: TallyClient) throws -> ClientSettings
}

extension ClientDNSVerb {
    func run() throws {
        try Output.run(json: output.json) {
            let settings = try change(client.client())
            Output.emit(settings, json: output.json) { ClientDNSText.describe(settings) }
        }
    }
}

struct ClientSetDNSServers: ClientDNSVerb {
    static let configuration = CommandConfiguration(
        commandName: "set-dns-servers",
        abstract: "Set the name servers discovery asks: ADDR[:PORT],... or none (resolv.conf's).",
        discussion: "Stored in the state directory. $TALLY_DNS_SERVERS overrides it for one command; an application's DiscoveryOptions.nameServers overrides it in the library."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "e.g. 192.0.2.53, 192.0.2.53:5353,[2001:db8::53]:53, or none.") var servers: String

    func change(_ client: TallyClient) throws -> ClientSettings {
        let trimmed = servers.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" { return try client.setDNSServers(nil) }
        return try client.setDNSServers(trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) })
    }
}

struct ClientSetResolvConf: ClientDNSVerb {
    static let configuration = CommandConfiguration(
        commandName: "set-resolv-conf",
        abstract: "Set the resolv.conf discovery reads (search list, timeout, attempts, name servers): PATH or none (/etc/resolv.conf).",
        discussion: "Stored in the state directory, as an absolute path. $TALLY_RESOLV_CONF overrides it for one command."
    )
    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The file, or none.") var path: String

    func change(_ client: TallyClient) throws -> ClientSettings {
        if path == "none" { return try client.setResolvConf(nil) }
        let absolute = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
        return try client.setResolvConf(absolute)
    }
}
