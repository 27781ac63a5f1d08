import Foundation

/// Client machine id: a lower-case UUID.
public enum CMID {
    public static func generate() -> String { UUID().uuidString.lowercased() }

    /// A CMID must be a UUID; returns it lower-cased, or `nil`.
    public static func validate(_ text: String) -> String? {
        guard let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }
}
