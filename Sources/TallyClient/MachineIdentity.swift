import Foundation
import TallyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who this machine is: the identities its fingerprint is made of, and a name for the administrator.
///
/// ``current()`` reads the real machine. Tests and demos construct identities directly to simulate many
/// machines in one process.
public struct MachineIdentity: Sendable, Equatable {
    /// The contents of `/etc/machine-id`.
    public var machineID: String
    /// The DMI product UUID (`/sys/class/dmi/id/product_uuid`), when readable. Cloned VM images often share
    /// the machine id but not this.
    public var productUUID: String?
    /// The machine's name as the host's administrator sees it (the host name). Never trusted by the host.
    public var name: String

    /// An identity from explicit values.
    public init(machineID: String, productUUID: String? = nil, name: String) {
        self.machineID = machineID
        self.productUUID = productUUID
        self.name = name
    }

    /// The machine fingerprint tickets carry: SHA-256 (hex) over the machine id and the product UUID.
    public var fingerprint: String {
        MachineFingerprint.compute(machineID: machineID, productUUID: productUUID)
    }

    /// Reads this machine's identity: `/etc/machine-id` (or `/var/lib/dbus/machine-id`), the DMI product
    /// UUID where this user may read it, and the host name.
    ///
    /// - Throws: ``TallyError`` with ``ResultCode/stateUnreadable`` when the machine has no machine id.
    public static func current() throws(TallyError) -> MachineIdentity {
        guard let machineID = ["/etc/machine-id", "/var/lib/dbus/machine-id"].lazy.compactMap(readTrimmed).first else {
            throw TallyError(.stateUnreadable, "this machine has no /etc/machine-id",
                             remedy: "Create one with `systemd-machine-id-setup` (or `dbus-uuidgen --ensure=/etc/machine-id`) and try again.")
        }
        // product_uuid is usually readable by root only; without it the fingerprint rests on the machine id.
        let productUUID = readTrimmed("/sys/class/dmi/id/product_uuid")
        return MachineIdentity(machineID: machineID, productUUID: productUUID, name: hostName())
    }

    /// This machine's identity with any of its parts replaced from `environment`: `TALLY_MACHINE_ID`,
    /// `TALLY_PRODUCT_UUID` and `TALLY_MACHINE_NAME`. For tests and demos that simulate many machines on one;
    /// with none of them set it is ``current()``.
    public static func current(overriddenBy environment: [String: String]) throws(TallyError) -> MachineIdentity {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        guard let machineID = value("TALLY_MACHINE_ID") else {
            var identity = try current()
            if let name = value("TALLY_MACHINE_NAME") { identity.name = name }
            return identity
        }
        // A simulated machine: nothing of the real one goes into its fingerprint.
        return MachineIdentity(machineID: machineID, productUUID: value("TALLY_PRODUCT_UUID"), name: value("TALLY_MACHINE_NAME") ?? hostName())
    }

    static func readTrimmed(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
