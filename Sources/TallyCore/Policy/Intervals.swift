import Foundation

/// The numbers of KMS that Tally keeps (docs/ARCHITECTURE.md, "Counting and deciding"), in one place.
public enum Intervals {
    /// Distinct machines seen in this many days form the count.
    public static let countWindowDays = 30
    /// Longest ticket validity.
    public static let activationValidity: TimeInterval = 180 * 86_400
    /// Default renewal interval of an activated client, in minutes (7 days).
    public static let defaultRenewalMinutes = 10_080
    /// Default retry interval of a client that is not activated, in minutes.
    public static let defaultActivationMinutes = 120
    /// Both intervals are clamped to this range, in minutes: 15 min .. 30 days.
    public static let minimumMinutes = 15
    public static let maximumMinutes = 43_200
    /// Grace period after a key is installed.
    public static let gracePeriod: TimeInterval = 30 * 86_400
    /// Clients and hosts whose clocks differ by more than this are refused (C004F06C).
    public static let clockSkewTolerance: TimeInterval = 4 * 3600
    /// Host certificate validity by default.
    public static let certificateValidity: TimeInterval = 365 * 86_400
    /// Validity of a certificate from the vendor's online service by default: shorter, so a blocked key stops a
    /// host at its next renewal, and never shorter than a ticket (``activationValidity``).
    public static let onlineCertificateValidity: TimeInterval = 200 * 86_400
    /// A client warns this long before its ticket expires.
    public static let expiryWarning: TimeInterval = 30 * 86_400
    /// Default TCP port of the activation service.
    public static let defaultPort = 1688

    /// Clamps an interval in minutes to 15 min .. 30 days.
    public static func clamp(minutes: Int) -> Int {
        min(max(minutes, minimumMinutes), maximumMinutes)
    }
}
