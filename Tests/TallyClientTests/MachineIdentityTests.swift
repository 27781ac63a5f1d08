import Foundation
import Testing
import TallyClient
import TallyCore

@Suite("Machine identity")
struct MachineIdentityTests {
    @Test("the fingerprint is MachineFingerprint's formula over the machine id and product UUID")
    func fingerprint() {
        let identity = MachineIdentity(machineID: "abc\n", productUUID: "UUID-1", name: "pc")
        #expect(identity.fingerprint == MachineFingerprint.compute(machineID: "abc", productUUID: "uuid-1"))
        #expect(identity.fingerprint != MachineIdentity(machineID: "abc", name: "pc").fingerprint)
        // The name is for the administrator only.
        #expect(identity.fingerprint == MachineIdentity(machineID: "abc", productUUID: "uuid-1", name: "other").fingerprint)
    }

    @Test("current() reads /etc/machine-id (scripts/test makes sure there is one) ")
    func current() throws {
        let identity = try MachineIdentity.current()
        let expected = try String(contentsOfFile: "/etc/machine-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(identity.machineID == expected)
        #expect(identity.productUUID == (try? String(contentsOfFile: "/sys/class/dmi/id/product_uuid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(!identity.name.isEmpty)
    }
}
