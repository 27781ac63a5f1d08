/// A DNS message (RFC 1035 §4.1): a header and four sections.
///
/// In an UPDATE message (RFC 2136) the sections are zone, prerequisite, update and additional; they use the
/// same fields. Read one with ``init(decoding:)``; write one with ``encoded(compress:)``.
public struct DNSMessage: Sendable, Hashable {
    /// The largest message DNS can carry (TCP's two-byte length).
    public static let maximumSize = 65_535
    static let headerSize = 12

    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
                authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A query for one name and type, with recursion desired and, unless `edns` is nil, an OPT record.
    public static func query(id: UInt16, name: DNSName, type: DNSRecordType, edns: EDNS? = EDNS()) -> DNSMessage {
        DNSMessage(header: .query(id: id), questions: [DNSQuestion(name: name, type: type)],
                   additionals: edns.map { [$0.record] } ?? [])
    }

    /// The EDNS record of the message, when it has one.
    public var edns: EDNS? {
        additionals.first { $0.type == .opt }.flatMap(EDNS.init(record:))
    }

    /// The full response code: the header's four bits and, with EDNS, the eight extended bits.
    public var responseCode: DNSResponseCode {
        let low = UInt16(header.responseCodeLowBits)
        guard let edns else { return DNSResponseCode(low) }
        return DNSResponseCode(UInt16(edns.extendedResponseCode) << 4 | low)
    }

    /// The TSIG record, which is always the last additional record.
    public var tsig: (record: DNSResourceRecord, data: TSIGData)? {
        guard let last = additionals.last, case .tsig(let data) = last.data else { return nil }
        return (last, data)
    }

    /// The answer records of one type whose owner is `name`.
    public func answers(_ type: DNSRecordType, for name: DNSName) -> [DNSResourceRecord] {
        answers.filter { $0.type == type && $0.name == name }
    }
}
