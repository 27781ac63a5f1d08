/// An RFC 2136 UPDATE: record additions and deletions for one zone, without prerequisites.
///
/// Deletions name one exact record (class NONE, the record's data), never a whole RRset, so any number of
/// hosts can share one SRV owner name and each changes only its own record.
public struct DNSUpdate: Sendable, Hashable {
    public enum Change: Sendable, Hashable {
        /// Add the record (a duplicate of an existing record is a no-op on the server).
        case add(DNSResourceRecord)
        /// Delete exactly this record: same owner, type and data (RFC 2136 §2.5.4).
        case delete(DNSResourceRecord)
    }

    public var zone: DNSName
    public var changes: [Change]

    public init(zone: DNSName, changes: [Change]) {
        self.zone = zone
        self.changes = changes
    }

    /// The message: zone section (zone, SOA, IN), empty prerequisites, the changes as the update section.
    public func message(id: UInt16) -> DNSMessage {
        var header = DNSHeader(id: id)
        header.opcode = .update
        let updates = changes.map { change -> DNSResourceRecord in
            switch change {
            case .add(let record):
                return record
            case .delete(let record):
                return DNSResourceRecord(name: record.name, type: record.type, class: .none, ttl: 0, data: record.data)
            }
        }
        return DNSMessage(header: header, questions: [DNSQuestion(name: zone, type: .soa)], authorities: updates)
    }
}
