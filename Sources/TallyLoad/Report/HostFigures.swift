/// Answer sizes on the wire, HTTP included, measured on a fresh host: refusals below the threshold, then grants.
public struct WireFigures: Sendable, Codable, Equatable {
    /// A grant to a client that holds no certificate yet.
    public var grantBytes: Int
    /// Copies of the host certificate in that grant.
    public var grantCertificateCopies: Int
    /// A grant to a client that sent `hch` for the host's certificate.
    public var grantHoldingCertificateBytes: Int
    /// C004F038 to a client that sent `hch` for the host's certificate.
    public var refusalHoldingCertificateBytes: Int
    /// C004F038 to a client without a certificate.
    public var refusalBytes: Int
    /// A request with and without `hch`, HTTP included.
    public var requestBytes: Int
    public var requestWithHashBytes: Int
    /// The body format of the answers.
    public var format: ActivationAnswer.Format
}

/// The host started and left idle: its RSS and what that memory is.
public struct IdleFigures: Sendable, Codable, Equatable {
    public var rssKilobytes: Int
    public var threads: Int
    public var smaps: SmapsBreakdown
}

/// A host started over a store filled with `clients` known clients in the 30-day window.
public struct ScaleFigures: Sendable, Codable, Equatable {
    public var clients: Int
    /// `tally host fill`, exec to exit, and as it reported itself.
    public var fillSeconds: Double
    public var fillReportedSeconds: Double?
    /// From exec of `tally host serve` to its `listening` line.
    public var execToListeningSeconds: Double
    /// From exec to the first grant whose `cur` is exactly the known clients plus the counted requests so far.
    public var execToFirstCountedGrantSeconds: Double
    /// Requests sent before that grant (answers of 503 while starting, or miscounted grants).
    public var requestsBefore: Int
    /// RSS right after that grant, and the peak until then (VmHWM), in KiB.
    public var rssKilobytes: Int
    public var peakRSSKilobytes: Int
    /// The state directory's size after the host exited, in bytes.
    public var storeBytes: Int
    /// "ok", or the first grant whose count was wrong.
    public var countCheck: String
}

/// Everything measured for one host binary.
public struct HostReport: Sendable, Codable, Equatable {
    /// "this" (the running binary) or "baseline".
    public var label: String
    public var binary: String
    /// The protocol version the host accepted: 2 when it took `ver: 2`, else 1.
    public var protocolVersion: Int
    /// Clients the host counted while it was set up (below the threshold, then past it).
    public var knownClientsAfterSetup: Int
    public var wire: WireFigures?
    /// The median over rounds of each load mode.
    public var load: [LoadFigures]
    public var paced: LoadFigures?
    public var idle: IdleFigures?
    public var scale: [ScaleFigures]
    /// Where the host's CPU went at keep-alive with the most connections (`--measures profile`).
    public var profile: ProfileBreakdown?
    /// Every round of every load mode.
    public var runs: [LoadFigures]
    public var problems: [String]
}
