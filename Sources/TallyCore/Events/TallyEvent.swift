import Foundation

/// One event, as stored and exported: an id, a time, a result code where one applies, and named fields.
public struct TallyEvent: Codable, Sendable, Equatable {
    public var id: EventID
    public var time: Date
    public var result: ResultCode?
    /// The event's fields by name (for 12290: minCount, machine, cmid, fingerprint, clientTime, licenseStatus, sku).
    public var fields: [String: String]

    public init(id: EventID, time: Date, result: ResultCode? = nil, fields: [String: String] = [:]) {
        self.id = id
        self.time = time
        self.result = result
        self.fields = fields
    }
}
