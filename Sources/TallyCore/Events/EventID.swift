/// Event ids as KMS numbers them.
public enum EventID: Int, Codable, Sendable, CaseIterable {
    /// Client: activation request sent.
    case requestSent = 12288
    /// Client: activation response processed.
    case responseProcessed = 12289
    /// Host: one per request.
    case requestHandled = 12290
    /// Host: failed to start.
    case hostStartFailed = 12291
    /// Host: DNS publishing failed.
    case dnsPublishFailed = 12293
    /// Host: DNS publishing succeeded.
    case dnsPublishSucceeded = 12294
    /// Host: one CMID from several machines (a cloned image).
    case clonedImage = 12300
    /// Host: a new certificate from the vendor's online service was installed.
    case certificateRenewed = 12301
    /// Host: renewing the certificate online failed (with the code and the remedy).
    case renewalFailed = 12302
    /// Host: the vendor acknowledged a usage report with a signed receipt.
    case reportAcknowledged = 12303
    /// Host: a host joined (started serving from) a shared store; names its host id and address.
    case hostJoinedStore = 12304
    /// Host: this host's clock is more than 5 s off the shared store's (the database's time is used).
    case storeClockSkew = 12305
    /// Host: an address went over its budget of new machines for the day (once per address per day).
    case newMachineBudgetReached = 12306

    public var summary: String {
        switch self {
        case .requestSent: "activation request sent"
        case .responseProcessed: "activation response processed"
        case .requestHandled: "activation request handled"
        case .hostStartFailed: "host failed to start"
        case .dnsPublishFailed: "DNS publishing failed"
        case .dnsPublishSucceeded: "DNS publishing succeeded"
        case .clonedImage: "one CMID from several machines: a cloned image"
        case .certificateRenewed: "host certificate renewed online"
        case .renewalFailed: "online certificate renewal failed"
        case .reportAcknowledged: "usage report acknowledged by the vendor"
        case .hostJoinedStore: "a host started serving from the shared store"
        case .storeClockSkew: "the host's clock is off the shared store's clock"
        case .newMachineBudgetReached: "an address reached its budget of new machines for the day"
        }
    }
}
