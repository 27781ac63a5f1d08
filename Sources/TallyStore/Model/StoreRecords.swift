import Foundation
import TallyCore

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

    public init(cmid: String, sku: String, productClass: String, fingerprint: String, machine: String, firstSeen: Date, lastSeen: Date,
                lastResult: ResultCode, requests: Int, ticketExpires: Date?, licenseStatus: String) {
        self.cmid = cmid
        self.sku = sku
        self.productClass = productClass
        self.fingerprint = fingerprint
        self.machine = machine
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.lastResult = lastResult
        self.requests = requests
        self.ticketExpires = ticketExpires
        self.licenseStatus = licenseStatus
    }
}

/// A stored event with its sequence number.
public struct StoredEvent: Codable, Sendable, Equatable {
    public var seq: Int64
    public var event: TallyEvent

    public init(seq: Int64, event: TallyEvent) {
        self.seq = seq
        self.event = event
    }
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

/// Filters for listing events, oldest first.
public struct EventQuery: Sendable {
    public var since: Date?
    public var afterSeq: Int64?
    public var id: EventID?
    public var limit: Int

    public init(since: Date? = nil, afterSeq: Int64? = nil, id: EventID? = nil, limit: Int = 100) {
        self.since = since
        self.afterSeq = afterSeq
        self.id = id
        self.limit = limit
    }
}

/// Distinct machines per day, SKU and class (from the sightings), for usage reports.
public struct DailyUsage: Codable, Sendable, Equatable {
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    public var sku: String
    public var productClass: String
    public var machines: Int

    public init(day: Int, sku: String, productClass: String, machines: Int) {
        self.day = day
        self.sku = sku
        self.productClass = productClass
        self.machines = machines
    }
}

/// Requests per day and result (from the 12290 events), for the dashboard's chart.
public struct DailyResults: Sendable, Equatable {
    public var day: Int
    public var result: TallyCore.ResultCode
    public var requests: Int

    public init(day: Int, result: TallyCore.ResultCode, requests: Int) {
        self.day = day
        self.result = result
        self.requests = requests
    }
}

/// Rows per table, to compare a backup or a migration with its source.
public typealias TableCounts = [String: Int]
