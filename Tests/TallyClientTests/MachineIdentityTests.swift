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

    @Test("current() reads /etc/machine-id", .enabled(if: FileManager.default.isReadableFile(atPath: "/etc/machine-id")
        && !((try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty))
    func current() throws {
        let identity = try MachineIdentity.current()
        let expected = try String(contentsOfFile: "/etc/machine-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(identity.machineID == expected)
        #expect(!identity.name.isEmpty)
    }

    @Test("TALLY_MACHINE_ID, TALLY_PRODUCT_UUID and TALLY_MACHINE_NAME simulate another machine")
    func overrides() throws {
        let identity = try MachineIdentity.current(overriddenBy: ["TALLY_MACHINE_ID": "sim-1", "TALLY_PRODUCT_UUID": "p-1",
                                                                  "TALLY_MACHINE_NAME": "desk-1"])
        #expect(identity == MachineIdentity(machineID: "sim-1", productUUID: "p-1", name: "desk-1"))
        let noUUID = try MachineIdentity.current(overriddenBy: ["TALLY_MACHINE_ID": "sim-1"])
        #expect(noUUID.productUUID == nil)
        #expect(noUUID.fingerprint != identity.fingerprint)
    }
}
