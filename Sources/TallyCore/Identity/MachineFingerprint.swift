import Crypto
import Foundation

/// A SHA-256 over a machine's identities: `/etc/machine-id` and, where readable, the DMI product UUID.
///
/// Cloned VM images often share the first but not the second. Reading the files is the client's job; this is
/// only the formula.
public enum MachineFingerprint {
    public static func compute(machineID: String, productUUID: String?) -> String {
        var input = "tally-fpr-v1\n" + machineID.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if let productUUID {
            input += "\n" + productUUID.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        }
        return Hex.encode(SHA256.hash(data: Data(input.utf8)))
    }
}
