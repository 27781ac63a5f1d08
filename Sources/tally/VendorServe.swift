import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyHost
import TallyVendor
import TallyVendorServer
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

struct VendorServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the vendor's online authority: host activation, certificate renewal and usage reports over HTTPS.",
        discussion: """
            Signs with the vendor's online root; never reads the offline root (vendor-root.jwk), which can stay off \
            this machine. Without --tls-certificate and --tls-key it serves plain HTTP, and only on a loopback \
            address, for a TLS-terminating proxy in front. SIGHUP reloads the TLS certificate and key; SIGTERM stops.
            """
    )
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Listen on ADDR:PORT (port 0 picks a free port).") var listen = "0.0.0.0:8443"
    @Option(help: "The TLS certificate chain, PEM (the server certificate first).") var tlsCertificate: String?
    @Option(help: "The TLS private key, PEM.") var tlsKey: String?
    @Option(help: "Validity of the certificates issued online, in days (at least 180, a ticket's validity).") var certificateDays = 200
    @Option(help: "Requests per second one address may make on average.") var rateLimit: Double = 2
    @Option(help: "Requests one address may make at once above the average.") var rateBurst = 20
    @Option(help: "Open connections at most.") var maxConnections = 1024
    @Flag(help: "Behind a proxy on loopback (plain HTTP): take the client address from the last X-Forwarded-For entry.")
    var trustForwardedFor = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "tally.vendor")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let server: VendorServer
        do {
            let address = try BindAddress(listen)
            guard (tlsCertificate == nil) == (tlsKey == nil) else {
                throw TallyError(.usageError, "give both --tls-certificate FILE and --tls-key FILE, or neither (plain HTTP on loopback)")
            }
            let tls = tlsCertificate.map { VendorServerConfiguration.TLSFiles(certificateChain: $0, privateKey: tlsKey ?? "") }
            let configuration = VendorServerConfiguration(host: address.host, port: address.port, tls: tls,
                                                          certificateValidity: TimeInterval(certificateDays) * 86_400, maxConnections: maxConnections,
                                                          ratePerAddress: rateLimit, burstPerAddress: rateBurst, trustForwardedFor: trustForwardedFor)
            server = try await VendorServer.bind(configuration: configuration, authority: vendor.authority, logger: logger)
        } catch let error as TallyError {
            Output.fail(error, json: output.json)
        }
        if output.json {
            Output.printJSON(["listening": server.url, "host": server.host, "port": String(server.port)])
        } else {
            print("listening on \(server.url)")
        }
        fflush(nil)
        if (try? vendor.authority.catalog().vendor.url) == nil {
            logger.warning("the catalog has no vendor.url: certificates name no vendor URL, so hosts must give --online URL each time")
        }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.run() }
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup)
            for await signal in signals {
                guard signal == .sighup else { break }
                do {
                    try server.reloadTLS()
                    logger.notice("TLS certificate and key reloaded")
                } catch {
                    logger.error("the TLS certificate was not reloaded; the previous one stays", metadata: ["error": "\(error)"])
                }
            }
            logger.info("shutting down")
            await server.shutdown()
        }
    }
}
