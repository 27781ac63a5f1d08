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

/// Client machine id: a lower-case UUID.
public enum CMID {
    public static func generate() -> String { UUID().uuidString.lowercased() }

    /// A CMID must be a UUID; returns it lower-cased, or `nil`.
    public static func validate(_ text: String) -> String? {
        guard let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }
}
