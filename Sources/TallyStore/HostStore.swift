import Foundation
import TallyCore

/// One answered request, as the host stores it: the client record, the sighting that counts, and its 12290
/// event. A batch of these is committed in one transaction before any of them is answered.
public struct ActivationRecord: Sendable, Equatable {
    public var cmid: String
    public var sku: String
    /// The SKU's class, when the host's certificate knows the SKU.
    public var productClass: String?
    public var fingerprint: String
    public var machine: String
    public var time: Date
    public var result: ResultCode
    /// Whether the request counts: a sighting is stored for the day.
    public var counted: Bool
    public var licenseStatus: String
    public var ticketExpires: Date?
    public var event: TallyEvent

    public init(cmid: String, sku: String, productClass: String?, fingerprint: String, machine: String, time: Date,
                result: ResultCode, counted: Bool, licenseStatus: String, ticketExpires: Date?, event: TallyEvent) {
        self.cmid = cmid
        self.sku = sku
        self.productClass = productClass
        self.fingerprint = fingerprint
        self.machine = machine
        self.time = time
        self.result = result
        self.counted = counted
        self.licenseStatus = licenseStatus
        self.ticketExpires = ticketExpires
        self.event = event
    }
}

/// A client as the host knows it: one row per CMID and SKU.
public struct ClientRecord: Codable, Sendable, Equatable {
    public var cmid: String
    public var sku: String
    public var productClass: String
    public var fingerprint: String
    public var machine: String
    public var firstSeen: Date
    public var lastSeen: Date
    public var lastResult: ResultCode
    public var requests: Int
    public var ticketExpires: Date?
    public var licenseStatus: String
}

/// A stored event with its sequence number.
public struct StoredEvent: Codable, Sendable, Equatable {
    public var seq: Int64
    public var event: TallyEvent
}

/// Filters for listing clients.
public struct ClientQuery: Sendable {
    public var sku: String?
    public var productClass: String?
    /// The licence state the client reported or was given (`Licensed`, `Initial grace`, …), any case.
    public var licenseStatus: String?
    public var limit: Int
    public var offset: Int

    public init(sku: String? = nil, productClass: String? = nil, licenseStatus: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.sku = sku
        self.productClass = productClass
        self.licenseStatus = licenseStatus
        self.limit = limit
        self.offset = offset
    }
}

/// The host's store. The SQLite store is the embedded default; a PostgreSQL store can sit behind the same
/// interface later.
public protocol HostStore: Sendable {
    /// The last day each CMID was seen per class, within the count window ending at `now`.
    func loadCounts(now: Date) throws -> ClassCounts
    /// Commits a batch in one transaction; on error nothing of the batch is stored.
    func commit(_ batch: [ActivationRecord]) throws
    /// Appends events that belong to no request (start failures, DNS publishing).
    func append(_ events: [TallyEvent]) throws
    /// Cumulative requests by result.
    func totals() throws -> [ResultCode: Int]
    func clients(_ query: ClientQuery) throws -> [ClientRecord]
    func events(since: Date?, afterSeq: Int64?, id: EventID?, limit: Int) throws -> [StoredEvent]
}
