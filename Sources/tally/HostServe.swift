import ArgumentParser
import Dispatch
import Foundation
import Logging
import TallyCore
import TallyHost

#if canImport(Glibc)
import Glibc
#endif

struct HostServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the activation service until SIGTERM or SIGINT; SIGHUP re-reads settings, certificate and admin token."
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "Listen on ADDR:PORT instead of the settings' address (port 0 picks a free port).") var listen: String?
    @Option(help: "Serve the admin interface on ADDR:PORT instead of the settings' admin-listen (port 0 picks a free port; none turns it off).")
    var adminListen: String?
    @Option(help: "Event loop threads (default: one per core).") var threads: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func run() async throws {
        var logger = Logger(label: "tally.host")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let runtime: HostRuntime
        do {
            runtime = try await HostRuntime.start(directory: host.directory, listen: listen, adminListen: adminListen, logger: logger,
                                                  threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        } catch let error as TallyError {
            Output.fail(error, json: output.json)
        }
        let address = runtime.address.description
        if output.json {
            var fields = ["listening": address, "host": runtime.address.host, "port": String(runtime.address.port)]
            if let admin = runtime.admin { fields["admin"] = admin.address.description }
            Output.printJSON(fields)
        } else {
            print("listening on \(address)")
            if let admin = runtime.admin { print("admin on \(admin.address)") }
        }
        fflush(nil)

        // Publish this host's SRV record now and every 24 h (12294 on success, 12293 with a remedy on failure).
        let republisher = DNSRepublisher(runtime: runtime)
        let dns = Task { await republisher.run() }

        let signals = SignalStream([SIGTERM, SIGINT, SIGHUP])
        for await signal in signals.stream {
            if signal == SIGHUP {
                do {
                    try runtime.reload()
                    logger.info("settings and certificate reloaded")
                } catch {
                    logger.error("reload failed; the previous settings stay", metadata: ["error": "\(error)"])
                }
                // The admin token is re-read too: a new one ends every session. admin-listen, and turning the
                // token on or off, apply at the next start.
                if let admin = runtime.admin {
                    do {
                        let settings = try HostSettings.load(from: host.directory)
                        if try admin.access.reload(tokenFile: settings.adminTokenFile, directory: host.directory) {
                            logger.notice("admin token replaced; every admin session ended")
                        }
                    } catch {
                        logger.error("the admin token was not reloaded; the previous one stays", metadata: ["error": "\(error)"])
                    }
                }
                continue
            }
            logger.info("shutting down", metadata: ["signal": "\(signal)"])
            break
        }
        dns.cancel()
        await runtime.shutdown()
    }
}

/// Delivers signals as an async sequence (through Dispatch signal sources on their own queue).
final class SignalStream: @unchecked Sendable {
    let stream: AsyncStream<Int32>
    private var sources: [any DispatchSourceSignal] = []
    private let queue = DispatchQueue(label: "tally.signals")

    init(_ numbers: [Int32]) {
        var continuation: AsyncStream<Int32>.Continuation!
        stream = AsyncStream { continuation = $0 }
        for number in numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            let yield = continuation!
            source.setEventHandler { yield.yield(number) }
            source.resume()
            sources.append(source)
        }
    }
}
