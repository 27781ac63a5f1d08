import Foundation
import GRDB
import TallyCore

/// One request's row in the log (`events` with `event_id` 12290): its event's fields as columns, plus what the
/// index is made from (class, counted, the ticket's expiry). Other events keep their fields as JSON.
struct LogRow: Sendable, Equatable {
    var seq: Int64 = 0
    var time: Date
    var result: TallyCore.ResultCode
    var cmid: String
    var sku: String
    var productClass: String?
    var fingerprint: String
    var machine: String
    var clientTime: Int64
    /// The licence state the client reported.
    var licenseStatus: String
    var minCount: Int
    var currentCount: Int
    var minutesToExpiry: Int32?
    var vm: Bool?
    var address: String
    var counted: Bool
    var ticketExpires: Date?

    init(input: ActivationInput, decision: ActivationDecision, time: Date) {
        self.time = time
        result = decision.code
        cmid = input.request.cmid
        sku = input.request.sku
        productClass = decision.productClass
        fingerprint = input.request.fingerprint
        machine = input.machine
        clientTime = NumericDate(input.request.clientTime)
        licenseStatus = input.licenseStatus
        minCount = decision.requiredCount
        currentCount = decision.currentCount
        minutesToExpiry = input.minutesToExpiry
        vm = input.vm
        address = input.address
        counted = decision.counted
        ticketExpires = decision.ticket?.expires
    }

    /// The columns after `seq, event_id`, in the order of ``insertStatement(_:)`` and ``init(row:)``.
    static let columns = "time, result, cmid, sku, class, fingerprint, machine, client_time, license_status, min_count, current_count, "
        + "minutes_to_expiry, vm, address, counted, ticket_expires"

    static func insertStatement(_ db: Database) throws -> Statement {
        try db.cachedStatement(sql: "INSERT INTO events (seq, event_id, \(columns)) VALUES (?, 12290, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    }

    /// Inserts the row as `seq` (see ``LogSequence``) with ``insertStatement(_:)``.
    func insert(_ statement: Statement, seq: Int64, _ db: Database) throws {
        var bound = BoundStatement(statement, db)
        bound.bind(seq)
        bound.bind(time.timeIntervalSince1970)
        bound.bind(Int64(result.rawValue))
        bound.bind(cmid)
        bound.bind(sku)
        bound.bind(productClass)
        bound.bind(fingerprint)
        bound.bind(machine)
        bound.bind(clientTime)
        bound.bind(licenseStatus)
        bound.bind(minCount)
        bound.bind(currentCount)
        bound.bind(minutesToExpiry.map { Int64($0) })
        bound.bind(vm)
        bound.bind(address)
        bound.bind(counted)
        bound.bind(ticketExpires?.timeIntervalSince1970)
        try bound.execute()
    }

    /// A row selected as `seq, …` with ``columns`` from index `first` on.
    init(row: Row, first: Int = 1) {
        seq = row[0]
        time = Date(timeIntervalSince1970: row[first])
        result = TallyCore.ResultCode(UInt32(truncatingIfNeeded: row[first + 1] as Int64))
        cmid = row[first + 2]
        sku = row[first + 3]
        productClass = row[first + 4]
        fingerprint = row[first + 5]
        machine = row[first + 6]
        clientTime = row[first + 7]
        licenseStatus = row[first + 8]
        minCount = row[first + 9]
        currentCount = row[first + 10]
        minutesToExpiry = (row[first + 11] as Int64?).map { Int32(truncatingIfNeeded: $0) }
        vm = row[first + 12]
        address = row[first + 13]
        counted = row[first + 14]
        ticketExpires = (row[first + 15] as Double?).map { Date(timeIntervalSince1970: $0) }
    }

    /// The current row of a statement that selected `seq, …` with ``columns`` (the indexer's read of the log).
    init(columns handle: OpaquePointer) {
        typealias C = BoundStatement
        seq = C.int64(handle, 0)
        time = Date(timeIntervalSince1970: C.double(handle, 1))
        result = TallyCore.ResultCode(UInt32(truncatingIfNeeded: C.int64(handle, 2)))
        cmid = C.text(handle, 3)
        sku = C.text(handle, 4)
        productClass = C.isNull(handle, 5) ? nil : C.text(handle, 5)
        fingerprint = C.text(handle, 6)
        machine = C.text(handle, 7)
        clientTime = C.int64(handle, 8)
        licenseStatus = C.text(handle, 9)
        minCount = C.int(handle, 10)
        currentCount = C.int(handle, 11)
        minutesToExpiry = C.isNull(handle, 12) ? nil : Int32(truncatingIfNeeded: C.int64(handle, 12))
        vm = C.isNull(handle, 13) ? nil : C.int64(handle, 13) != 0
        address = C.text(handle, 14)
        counted = C.int64(handle, 15) != 0
        ticketExpires = C.isNull(handle, 16) ? nil : Date(timeIntervalSince1970: C.double(handle, 16))
    }

    /// The 12290 event's fields, as every version of the host has shown them.
    var fields: [String: String] {
        [
            "minCount": String(minCount), "currentCount": String(currentCount), "machine": machine, "cmid": cmid,
            "fingerprint": fingerprint, "clientTime": String(clientTime), "licenseStatus": licenseStatus, "sku": sku,
            "minutesToExpiry": minutesToExpiry.map { String($0) } ?? "", "vm": vm.map { $0 ? "1" : "0" } ?? "", "address": address,
        ]
    }

    var event: TallyEvent {
        TallyEvent(id: .requestHandled, time: time, result: result, fields: fields)
    }

    /// The licence state the index keeps for the client: Licensed when a ticket was granted.
    var clientLicenseStatus: String {
        ticketExpires != nil ? LicenseStatus.licensed.rawValue : licenseStatus
    }
}
