import ArgumentParser
import Foundation
import Logging
import TallyCore
import TallyHost

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
        // The same host object the tests run, with the process's signals: SIGTERM/SIGINT drain, SIGHUP reloads.
        let options = HostRuntime.Options(listen: listen, adminListen: adminListen, logger: logger,
                                          threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, handleSignals: true)
        let runtime: HostRuntime
        do {
            runtime = try await HostRuntime.prepare(directory: host.directory, options: options)
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
        try await runtime.run()
    }
}
