import ArgumentParser
import Foundation
import TallyCore
import TallyFiles
import TallyVendor

struct VendorRootsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "roots", abstract: "List the vendor's roots: role, state, unexpired certificates.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try Output.run(json: output.json) {
            let roots = try vendor.authority.rootInfo()
            Output.emit(["roots": roots], json: output.json) {
                roots.map { info in
                    "\(info.root.kid)  \(info.root.role.rawValue) \(info.root.status.rawValue)"
                        + "  \(info.unexpiredCertificates) unexpired certificate(s)\(info.lastExpiry.map { ", last expires \(Output.iso($0))" } ?? "")"
                        + (info.privateKeyHere ? "" : "  (private key not here)")
                }.joined(separator: "\n")
            }
        }
    }
}

struct VendorRotateRoot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-root",
        abstract: "Make a new root (online by default), vouched for by the offline root, and list it in the client profile.",
        discussion: """
            The new root waits as a standby until `tally vendor use-root KID`: run that once applications embedding \
            the new client profile have shipped. Hosts learn the new root from statements in every online answer. \
            Needs the active offline root's key: in the state directory, or --offline-key FILE.
            """
    )
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Rotate the offline root instead of the online root.") var offline = false
    @Option(help: "The active offline root's private key, when it is kept outside the state directory.") var offlineKey: String?

    func run() throws {
        try Output.run(json: output.json) {
            let root = try vendor.authority.rotateRoot(role: offline ? .offline : .online, offlineKeyFile: offlineKey)
            Output.emit(root, json: output.json) {
                let state = root.status == .active ? "active now (its role had no active root)" : "standby: `tally vendor use-root \(root.kid)` once applications with the new client profile have shipped"
                return "new \(root.role.rawValue) root \(root.kid): \(state)\n  private key: \(vendor.authority.directory.file(root.keyFile).path) (0600)\n  client profile rewritten: it lists the new root"
            }
        }
    }
}

struct VendorUseRoot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "use-root", abstract: "Make a root the one that signs for its role; the previous one stays trusted.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The root's key id.") var kid: String

    func run() throws {
        try Output.run(json: output.json) {
            let root = try vendor.authority.useRoot(kid)
            Output.emit(root, json: output.json) { "\(root.kid) is now the active \(root.role.rawValue) root" }
        }
    }
}

struct VendorRetireRoot: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retire-root", abstract: "Retire a root: refused while it is active or a certificate it signed has not expired.")
    @OptionGroup var vendor: VendorOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The root's key id.") var kid: String

    func run() throws {
        try Output.run(json: output.json) {
            let root = try vendor.authority.retireRoot(kid)
            Output.emit(root, json: output.json) {
                "\(root.kid) retired: the client profile no longer lists it; its private key \(root.keyFile) may be destroyed"
            }
        }
    }
}
