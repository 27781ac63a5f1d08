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
/// An application gets one only from ``current()``, which reads `/etc/machine-id` and the DMI product UUID: no
/// environment variable or argument can make the shipped library another machine. Root can rewrite both files,
/// and a copy of a state directory on a machine with the same two ids is, to Tally, the same machine. The demo
/// and the tests simulate many machines in one process through a `package` initialiser an application cannot
/// see.
public struct MachineIdentity: Sendable, Equatable {
    /// The contents of `/etc/machine-id`.
    public package(set) var machineID: String
    /// The DMI product UUID (`/sys/class/dmi/id/product_uuid`), when readable. Cloned VM images often share
    /// the machine id but not this.
    public package(set) var productUUID: String?
    /// The machine's name as the host's administrator sees it (the host name). Never trusted by the host and
    /// not part of the fingerprint, so an application may show another.
    public var name: String

    /// An identity from explicit values: the demo and the tests, which simulate many machines on one.
    package init(machineID: String, productUUID: String? = nil, name: String) {
        self.machineID = machineID
        self.productUUID = productUUID
        self.name = name
    }

    /// The machine fingerprint tickets carry: SHA-256 (hex) over the machine id and the product UUID.
    public var fingerprint: String {
        MachineFingerprint.compute(machineID: machineID, productUUID: productUUID)
    }

    /// The file the machine id is read from.
    package static let machineIDPath = "/etc/machine-id"
    /// The file the DMI product UUID is read from (usually readable by root only).
    package static let productUUIDPath = "/sys/class/dmi/id/product_uuid"

    /// Reads this machine's identity: `/etc/machine-id`, the DMI product UUID where this user may read it, and
    /// the host name.
    ///
    /// - Throws: ``TallyError`` with ``ResultCode/stateUnreadable`` when the machine has no machine id.
    public static func current() throws(TallyError) -> MachineIdentity {
        guard let machineID = readTrimmed(machineIDPath) else {
            throw TallyError(.stateUnreadable, "this machine has no \(machineIDPath)",
                             remedy: "Create one with `systemd-machine-id-setup` (or `dbus-uuidgen --ensure=/etc/machine-id`) and try again.")
        }
        // product_uuid is usually readable by root only; without it the fingerprint rests on the machine id.
        let productUUID = readTrimmed(productUUIDPath)
        return MachineIdentity(machineID: machineID, productUUID: productUUID, name: hostName())
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
