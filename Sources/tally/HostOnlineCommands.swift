import ArgumentParser
import Foundation
import TallyCore
import TallyHost
import TallyVendorLink

/// How the host reaches the vendor's online service, shared by the commands that call it.
struct VendorLinkOptions: ParsableArguments {
    @Option(help: "A PEM file of the CA(s) to trust for the vendor's TLS certificate instead of the system's roots.")
    var vendorCa: String?

    /// The CA file, and the proxy from HTTPS_PROXY / NO_PROXY.
    func settings() throws -> VendorConnectionSettings {
        if let vendorCa, !FileManager.default.isReadableFile(atPath: vendorCa) {
            throw TallyError(.usageError, "--vendor-ca \(vendorCa) cannot be read")
        }
        return try VendorConnectionSettings.fromEnvironment(caFile: vendorCa)
    }
}

struct HostRenew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew the host's certificate online now, with a request signed by its key pair (renewal is free).",
        discussion: "Uses the vendor URL the certificate carries unless --online URL is given. Logs 12301 on success, 12302 with the code on failure. A serving host renews by itself renewal-margin-days before the end (`tally host set --help`); after renewing by hand, SIGHUP makes a serving host use the new certificate."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "The vendor's service URL, when the certificate carries none.") var online: String?
    @OptionGroup var link: VendorLinkOptions

    func run() async throws {
        try await Output.run(json: output.json) {
            let store = try? openStore(host)
            let result = try await HostOnline(directory: host.directory, settings: link.settings()).renew(url: online, events: store)
            let status = try host.identity.status()
            Output.emit(status, json: output.json) {
                "certificate renewed at \(result.url): serial \(result.certificate.claims.serial), valid until \(Output.iso(result.certificate.expires))"
                    + (result.adoptedRoots.isEmpty ? "" : "\nnew vendor root(s) trusted: " + result.adoptedRoots.joined(separator: ", "))
            }
        }
    }
}
