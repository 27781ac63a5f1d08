import ArgumentParser
import Foundation
import Logging
import TallyClient
import TallyCore
import TallyFiles
import TallyHost
import TallyVendor

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch the whole cycle on loopback: a vendor, an activated host, and clients passing the threshold.",
        discussion: "Everything happens in a temporary directory with real files, a real SQLite store and real TCP on 127.0.0.1; nothing is installed on this machine."
    )
    @Option(help: "How many simulated client machines.") var clients = 30
    @Flag(help: "Keep the temporary directory and print its path.") var keep = false

    func run() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tally-demo-\(UUID().uuidString.prefix(8))").path
        defer {
            if !keep { try? FileManager.default.removeItem(atPath: root) }
        }
        do {
            try await demo(root)
        } catch let error as TallyError {
            Output.fail(error, json: false)
        }
    }

    func step(_ text: String) { print("\n== \(text)") }

    func demo(_ root: String) async throws {
        print("Tally demo in \(root)")

        step("vendor: root key, catalog and a host key")
        let vendor = VendorAuthority(directory: StateDirectory(root + "/vendor"))
        let (jwk, catalog) = try vendor.initialise(vendorID: "demo-vendor", vendorName: "Demo Vendor")
        let group = "studio-2026"
        let hostKey = try vendor.issueHostKey(group: group)
        print("vendor root \(jwk.kid ?? "")  host key \(hostKey.keyID) for group \(group)")

        step("host: install the host key, activate with the vendor (offline request and certificate)")
        let hostDirectory = StateDirectory(root + "/host")
        let identity = HostIdentity(directory: hostDirectory)
        let info = try identity.installKey(hostKey.description, vendorRoots: [jwk])
        let activation = try vendor.activateHost(request: identity.activationRequest())
        let certificate = try identity.installCertificate(activation.certificate)
        print("host \(info.hostID) activated until \(Output.iso(certificate.expires)) for "
              + certificate.claims.skus.map { "\($0.sku) (\($0.class), threshold \(certificate.claims.thr[$0.class] ?? 0))" }.joined(separator: ", "))

        var logger = Logger(label: "tally.demo")
        logger.logLevel = .error
        let runtime = try await HostRuntime.start(directory: hostDirectory, listen: "127.0.0.1:0", adminListen: "none", logger: logger, threads: 2)
        let address = "127.0.0.1:\(runtime.address.port)"
        print("host listening on \(address)")

        let sku = try require(catalog.allSKUs.first { $0.class == "client" }, "the starter catalog has no client-class SKU")
        let threshold = certificate.claims.thr[sku.class] ?? 25
        let profile = ClientProfile(catalog: catalog, roots: [jwk])

        step("\(clients) client machines install the \(sku.name) setup key and activate (threshold \(threshold))")
        var machines: [TallyClient] = []
        for index in 1...clients {
            let name = String(format: "pc-%02d", index)
            let client = TallyClient(stateDirectory: root + "/clients/\(name)",
                                     identity: MachineIdentity(machineID: UUID().uuidString, name: name), profile: profile)
            _ = try client.installKey(sku.setupKey)
            _ = try client.setHost(address)
            machines.append(client)
            print(line(name, try client.activate()))
        }

        step("machines 1–\(threshold - 1) ask again (as `tally client ato` does)")
        for (index, client) in machines.prefix(threshold - 1).enumerated() {
            print(line(String(format: "pc-%02d", index + 1), try client.activate()))
        }

        await runtime.shutdown()
        let status = try await HostStatusReport.read(directory: hostDirectory)
        step("host status")
        for (productClass, count) in status.classes.sorted(by: { $0.key < $1.key }) {
            print("\(productClass): \(count.currentCount) of \(count.requiredCount) machines")
        }
        print("requests: \(status.totalRequests); " + status.requestsByResult.map { "\($0.result.hex) \($0.name) \($0.requests)" }.joined(separator: ", "))
        let licensed = try machines.filter { try $0.status().licenseStatus == .licensed }.count
        print("\nlicensed machines: \(licensed) of \(clients). The host stopped cleanly.")
        if keep { print("state kept in \(root)") }
    }

    func line(_ name: String, _ outcome: ActivationOutcome) -> String {
        let verdict = outcome.granted ? "activated, ticket until \(Output.iso(outcome.ticketExpires))" : "not activated (\(outcome.result.info?.name ?? ""))"
        return "\(name)  \(outcome.result.hex)  count \(outcome.hostCount ?? 0)/\(outcome.requiredCount ?? 0)  \(verdict)"
    }
}

/// `#require` for the command line: a missing value is a clear error.
func require<T>(_ value: T?, _ message: String = "a value the demo needs is missing") throws -> T {
    guard let value else { throw TallyError(.usageError, message) }
    return value
}
