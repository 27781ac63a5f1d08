import Foundation
import TallyCore

/// One row of the vendor's audit: every request the vendor answered (activation, renewal, report) and every
/// change it made to its host keys, with the result, refusals included.
public struct VendorAuditRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case activation, renewal, report
        case issueKey = "issue-key"
        case blockKey = "block-key"
    }

    /// How the request reached the vendor.
    public enum Channel: String, Codable, Sendable {
        /// Over `tally vendor serve`.
        case online
        /// A file or a command at the vendor (`activate-host`, `issue-host-key`, `block-host-key`).
        case offline
    }

    /// Order of recording; set by the ledger.
    public var seq: Int64?
    public var time: Date
    public var kind: Kind
    public var channel: Channel
    /// The requester's address, for online requests.
    public var address: String?
    public var hostId: String?
    public var keyId: String?
    /// 0 when the request was answered as asked; otherwise the code it was refused with.
    public var result: ResultCode
    public var message: String
    /// The certificate serial issued, if one was.
    public var serial: Int?
    /// The report's `seq`, for reports.
    public var reportSeq: Int?
    /// A refusal the vendor flags for attention: a rewritten report history.
    public var flagged: Bool

    public init(time: Date, kind: Kind, channel: Channel, address: String? = nil, hostId: String? = nil, keyId: String? = nil,
                result: ResultCode = .success, message: String, serial: Int? = nil, reportSeq: Int? = nil, flagged: Bool = false) {
        self.time = time
        self.kind = kind
        self.channel = channel
        self.address = address
        self.hostId = hostId
        self.keyId = keyId
        self.result = result
        self.message = message
        self.serial = serial
        self.reportSeq = reportSeq
        self.flagged = flagged
    }

    /// The same record, refused with `error`.
    public func refused(_ error: TallyError, flagged: Bool = false) -> VendorAuditRecord {
        var copy = self
        copy.result = error.code
        copy.message = error.message
        copy.flagged = flagged
        return copy
    }
}

/// Where a vendor request came from, for the audit and the logs.
public struct VendorRequestOrigin: Sendable, Equatable {
    public var channel: VendorAuditRecord.Channel
    public var address: String?

    public init(channel: VendorAuditRecord.Channel, address: String? = nil) {
        self.channel = channel
        self.address = address
    }

    public static let offline = VendorRequestOrigin(channel: .offline)
}
