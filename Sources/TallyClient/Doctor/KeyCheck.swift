import Foundation
import TallyCore
import TallyFiles

/// Check 1: a client setup key of a SKU in the vendor's profile is installed, and no host key is.
///
/// KMS's "I installed a KMS host key on a KMS client": here a host key can sit in the client state only if the
/// state directory was used for a host (`tally host install-key`) or edited by hand; either is C004E016 with the
/// hint. Nothing installed is C0A70009; a state copied from another machine is a warning (the next activation
/// makes a new CMID).
package struct KeyCheck: DoctorCheck {
    package var name: DoctorCheckName { .key }

    package init() {}

    static let hostKeyHint = "\"I installed a host key on a client\": host keys are secret and belong on the activation host (`tally host install-key`). Keep it safe and install the public client setup key here instead."

    package func run(_ session: DoctorSession) -> DoctorFinding {
        let state = session.state
        let path = session.client.directory.url.path
        guard state.directoryExists else {
            return .fail(name, .notInstalled, "there is no client state at \(path): no client setup key is installed",
                         remedy: "Install the product's client setup key: `tally client ipk KEY --profile client-profile.json`; or point the doctor at the client's state (`--state-dir DIR` or $TALLY_CLIENT_DIR).")
        }
        if state.holdsHostKey {
            return .fail(name, .keyDoesNotMatch,
                         "\(path) holds a host key (\(DoctorSession.hostKeyFile)): this directory was set up as an activation host, not as a client",
                         remedy: "Give the host its own state directory and move the host key there; install the product's client setup key in the client's directory: `tally client ipk SETUP-KEY`.",
                         hint: KeyCheck.hostKeyHint)
        }
        let profile: ClientProfile
        switch state.profile {
        case let .success(value): profile = value
        case let .failure(error): return .fail(name, error.code, error.message, remedy: error.remedy)
        }
        let machine: ClientMachine
        switch state.machine {
        case let .failure(error): return .fail(name, error.code, error.message, remedy: error.remedy)
        case .success(nil):
            return .fail(name, .notInstalled, "no client setup key is installed in \(path)",
                         remedy: "Install the product's client setup key: `tally client ipk KEY`.")
        case let .success(value?): machine = value
        }
        guard !machine.licenses.isEmpty else {
            return .fail(name, .notInstalled, "no client setup key is installed in \(path) (every key was uninstalled)",
                         remedy: "Install the product's client setup key: `tally client ipk KEY`.")
        }
        for sku in machine.licenses.keys.sorted() {
            let license = machine.licenses[sku]!
            let key: ProductKey
            do {
                key = try ProductKey(license.setupKey)
            } catch {
                return .fail(name, error.code, "the key installed for \(sku) is not a valid key: \(error.message)",
                             remedy: "Install the SKU's client setup key again: `tally client upk --sku \(sku)`, then `tally client ipk SETUP-KEY`.")
            }
            guard key.kind == .clientSetup else {
                return .fail(name, .keyDoesNotMatch, "the key installed for \(sku) is a host key; a client needs the client setup key of its product",
                             remedy: "Uninstall it (`tally client upk --sku \(sku)`) and install the SKU's client setup key (`tally client ipk SETUP-KEY`); the vendor's client profile lists them.",
                             hint: KeyCheck.hostKeyHint)
            }
            guard let entry = profile.sku(forSetupKey: key), entry.id == sku else {
                return .fail(name, .keyDoesNotMatch,
                             "the key installed for \(sku) is not the setup key of a SKU in \(profile.vendor)'s client profile (the profile lists: \(profile.skus.map(\.id).joined(separator: ", ")))",
                             remedy: "Install the setup key of one of this vendor's SKUs (`tally client ipk SETUP-KEY`), or use the client profile of the vendor that issued this key.")
            }
        }
        if let requested = session.requestedSKU, machine.licenses[requested] == nil {
            return .fail(name, .notInstalled,
                         "no key for SKU \(requested) is installed (installed: \(machine.licenses.keys.sorted().joined(separator: ", ")))",
                         remedy: "Install the SKU's client setup key (`tally client ipk KEY`), or name an installed SKU with --sku.")
        }
        if let problem = state.settingsProblem {
            // The client reads its settings before every activation: it fails until they are fixed.
            return .fail(name, problem.code, problem.message, remedy: problem.remedy)
        }
        let sku = session.sku!
        let entry = profile.skus.first { $0.id == sku }!
        var finding = "client setup key of \(entry.name) (\(sku), class \(entry.class)) installed; CMID \(machine.cmid)"
        let others = machine.licenses.keys.sorted().filter { $0 != sku }
        if !others.isEmpty { finding += "; also installed: \(others.joined(separator: ", ")) (the host is asked for \(sku); --sku names another)" }
        if session.stateCopied {
            return .warn(name, .ticketFromAnotherMachine,
                         finding + "; but this state was made on another machine (its fingerprint is not this machine's): the next activation makes a new CMID, so the doctor does not ask the host with the old one",
                         remedy: "Run `tally client ato`: the client takes a new CMID and activates afresh. Generalise images before cloning them (or `tally client rearm` on each clone).")
        }
        return .pass(name, finding)
    }
}
