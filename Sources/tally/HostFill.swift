import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyHost
import TallyStore

struct HostFill: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill",
        abstract: "Fill a host's store with synthetic clients, to measure start-up time and memory of a large site.",
        discussion: "For test and benchmark hosts only: the clients are invented and count toward the threshold.",
        shouldDisplay: false
    )
    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @Option(help: "How many clients.") var clients = 1_000_000
    @Option(help: "Their SKU.") var sku = "studio-pro"
    @Option(name: .customLong("class"), help: "The SKU's class.") var productClass = "client"

    func run() throws {
        try Output.run(json: output.json) {
            let store = try SQLiteHostStore(path: host.directory.file(HostRuntime.storeFile).path)
            let start = Date()
            let written = try store.fillSynthetic(count: clients, sku: sku, productClass: productClass)
            let seconds = Date().timeIntervalSince(start)
            Output.emit(["clients": Double(written), "seconds": seconds], json: output.json) {
                String(format: "wrote %d synthetic clients in %.1f s", written, seconds)
            }
        }
    }
}
