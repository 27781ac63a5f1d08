import ArgumentParser
import Foundation
import TallyClient
import TallyCore

/// Where the client keeps its state, and the vendor profile it trusts: the options of every `tally client` verb
/// and of `tally doctor`.
///
/// The profile comes from outside the state directory on every command, never from the state: whoever can write
/// the state directory could otherwise add a root key of their own.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The client's state directory (default: $TALLY_CLIENT_DIR, else ~/.local/share/tally/client).")
    var stateDir: String?

    @Option(name: .long, help: "The vendor's client profile, client-profile.json (default: $TALLY_CLIENT_PROFILE, else /etc/tally/client-profile.json).")
    var profile: String?

    /// Where the application's package installs the vendor's profile.
    static let installedProfile = "/etc/tally/client-profile.json"

    var stateDirectory: String { StateDirOption.resolve(stateDir, environment: "TALLY_CLIENT_DIR", role: "client") }

    func client(connectTimeout: Double = 1, readTimeout: Double = 5) throws -> TallyClient {
        let environment = ProcessInfo.processInfo.environment
        var identity = try MachineIdentity.current()
        // Only the name the host's administrator sees; the fingerprint is the machine's own.
        if let name = environment["TALLY_MACHINE_NAME"]?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty {
            identity.name = name
        }
        return TallyClient(stateDirectory: stateDirectory, identity: identity, profile: try loadProfile(environment),
                           connectTimeout: connectTimeout, readTimeout: readTimeout, discovery: ClientOptions.discovery(environment))
    }

    /// The profile: `--profile`, else `$TALLY_CLIENT_PROFILE`, else ``installedProfile``.
    func loadProfile(_ environment: [String: String]) throws -> ClientProfile {
        let given = profile ?? environment["TALLY_CLIENT_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
        let path = given ?? Self.installedProfile
        guard given != nil || FileManager.default.fileExists(atPath: path) else {
            let legacy = URL(fileURLWithPath: stateDirectory).appendingPathComponent(TallyClient.legacyProfileFile).path
            throw TallyError(.profileMissing, "no client profile: no --profile, no $TALLY_CLIENT_PROFILE and no \(path)",
                             remedy: "Install the vendor's client-profile.json as \(path) (the application's package does), or pass --profile FILE (or set $TALLY_CLIENT_PROFILE) on every command.",
                             hint: FileManager.default.fileExists(atPath: legacy)
                                ? "\(legacy) was stored by an older tally and is no longer read: whoever can write the state directory could add a root key to it. Install the profile the vendor publishes, not a copy of that file."
                                : nil)
        }
        do {
            return try TallyJSON.decode(ClientProfile.self, from: Data(path.readFileArgument().utf8))
        } catch let error as TallyError {
            throw error
        } catch {
            throw TallyError(.stateUnreadable, "\(path) is not a client profile: \(error)",
                             remedy: "Use the client-profile.json the vendor publishes (`tally vendor catalog profile` writes it).")
        }
    }

    /// DNS discovery's sources: `$TALLY_RESOLV_CONF` instead of /etc/resolv.conf, `$TALLY_DNS_SERVERS`
    /// (ADDR[:PORT],…) instead of its name servers.
    static func discovery(_ environment: [String: String]) -> DiscoveryOptions {
        var options = DiscoveryOptions()
        if let path = environment["TALLY_RESOLV_CONF"], !path.isEmpty { options.resolvConfPath = path }
        if let servers = environment["TALLY_DNS_SERVERS"], !servers.isEmpty {
            options.nameServers = servers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return options
    }
}
