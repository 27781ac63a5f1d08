/// Reads a message from bytes, validating every count, length and compression pointer before using it.
///
/// Nothing is allocated from a count or length read off the wire until the bytes it describes are known to
/// be there, names stop at 255 bytes, and every compression pointer must go strictly further back than the
/// previous one, so a hostile message cannot make the reader loop, overrun or allocate without bound.
struct DNSMessageReader {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// Where the TSIG record starts, once it has been read: the signed part of the message ends there.
    private(set) var tsigOffset: Int?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: - Fixed-size fields

    private func need(_ count: Int, before limit: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) {
        guard count <= limit - offset else {
            throw DNSMessageError(.truncated, "the message ends inside \(what())", at: offset)
        }
    }

    mutating func u8(limit: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt8 {
        try need(1, before: limit, what())
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(limit: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt16 {
        try need(2, before: limit, what())
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32(limit: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) -> UInt32 {
        let high = try u16(limit: limit, what())
        let low = try u16(limit: limit, what())
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func take(_ count: Int, limit: Int, _ what: @autoclosure () -> String) throws(DNSMessageError) -> [UInt8] {
        try need(count, before: limit, what())
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    // MARK: - Names

    /// Reads a possibly compressed name. Labels are read up to `limit` (the end of the record data for names
    /// inside data); pointers may lead anywhere earlier in the message.
    mutating func name(limit: Int) throws(DNSMessageError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var currentLimit = limit
        // Every pointer must lead strictly before the start of the stretch being read, so each jump goes
        // further back than the one before: the walk always ends.
        var stretchStart = offset
        var end: Int?
        while true {
            guard position < currentLimit else {
                throw DNSMessageError(.truncated, "the message ends inside a name", at: position)
            }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    position += 1
                    offset = end ?? position
                    return DNSName(uncheckedLabels: labels)
                }
                let count = Int(length)
                guard count <= currentLimit - position - 1 else {
                    throw DNSMessageError(.truncated, "the message ends inside a label", at: position)
                }
                wireLength += 1 + count
                guard wireLength <= DNSName.maximumWireLength else {
                    throw DNSMessageError(.nameTooLong, "a name is longer than 255 bytes", at: position)
                }
                labels.append(Array(bytes[(position + 1)..<(position + 1 + count)]))
                position += 1 + count
            case 0xC0:
                guard position + 1 < currentLimit else {
                    throw DNSMessageError(.truncated, "the message ends inside a compression pointer", at: position)
                }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                if end == nil { end = position + 2 }
                guard target >= DNSMessage.headerSize, target < bytes.count else {
                    throw DNSMessageError(.pointerOutOfRange, "a compression pointer leads to byte \(target), outside the records", at: position)
                }
                guard target < position else {
                    throw DNSMessageError(.forwardPointer, "a compression pointer leads forward, to byte \(target)", at: position)
                }
                guard target < stretchStart else {
                    throw DNSMessageError(.pointerLoop, "a compression pointer leads back into the name being read (byte \(target))", at: position)
                }
                stretchStart = target
                position = target
                currentLimit = bytes.count
            default:
                throw DNSMessageError(.badLabelType, "a label has the reserved type bits \(length >> 6)", at: position)
            }
        }
    }

    // MARK: - Sections

    mutating func header() throws(DNSMessageError) -> (DNSHeader, counts: [Int]) {
        guard bytes.count <= DNSMessage.maximumSize else {
            throw DNSMessageError(.tooLarge, "a message of \(bytes.count) bytes is larger than DNS allows")
        }
        let end = bytes.count
        let id = try u16(limit: end, "the header")
        let flags = try u16(limit: end, "the header")
        var counts: [Int] = []
        for _ in 0..<4 { counts.append(Int(try u16(limit: end, "the header"))) }
        return (DNSHeader(id: id, flags: flags), counts)
    }

    mutating func question() throws(DNSMessageError) -> DNSQuestion {
        let name = try name(limit: bytes.count)
        let type = try u16(limit: bytes.count, "a question")
        let rclass = try u16(limit: bytes.count, "a question")
        return DNSQuestion(name: name, type: DNSRecordType(type), class: DNSClass(rclass))
    }

    mutating func record() throws(DNSMessageError) -> DNSResourceRecord {
        let start = offset
        let name = try name(limit: bytes.count)
        let type = DNSRecordType(try u16(limit: bytes.count, "a record"))
        let rclass = DNSClass(try u16(limit: bytes.count, "a record"))
        let ttl = try u32(limit: bytes.count, "a record")
        let length = Int(try u16(limit: bytes.count, "a record"))
        try need(length, before: bytes.count, "the data of a \(type) record")
        let end = offset + length
        let data = try recordData(type: type, length: length, end: end)
        guard offset == end else {
            throw DNSMessageError(.badRecordData, "the data of a \(type) record is \(length) bytes but its fields take \(offset - (end - length))", at: start)
        }
        if type == .tsig { tsigOffset = start }
        return DNSResourceRecord(name: name, type: type, class: rclass, ttl: ttl, data: data)
    }

    private mutating func recordData(type: DNSRecordType, length: Int, end: Int) throws(DNSMessageError) -> DNSRecordData {
        if length == 0, type != .opt { return .empty }
        switch type {
        case .a:
            guard length == 4 else { throw DNSMessageError(.badRecordData, "an A record has \(length) bytes of data, not 4", at: offset) }
            return .a(DNSIPv4Address(octets: try take(4, limit: end, "an A record"))!)
        case .aaaa:
            guard length == 16 else { throw DNSMessageError(.badRecordData, "an AAAA record has \(length) bytes of data, not 16", at: offset) }
            return .aaaa(DNSIPv6Address(octets: try take(16, limit: end, "an AAAA record"))!)
        case .srv:
            let priority = try u16(limit: end, "an SRV record")
            let weight = try u16(limit: end, "an SRV record")
            let port = try u16(limit: end, "an SRV record")
            return .srv(SRVData(priority: priority, weight: weight, port: port, target: try name(limit: end)))
        case .soa:
            let primary = try name(limit: end)
            let responsible = try name(limit: end)
            var numbers: [UInt32] = []
            for _ in 0..<5 { numbers.append(try u32(limit: end, "an SOA record")) }
            return .soa(SOAData(primary: primary, responsible: responsible, serial: numbers[0], refresh: numbers[1],
                                retry: numbers[2], expire: numbers[3], minimum: numbers[4]))
        case .ns:
            return .ns(try name(limit: end))
        case .cname:
            return .cname(try name(limit: end))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(try u8(limit: end, "a TXT string"))
                strings.append(try take(count, limit: end, "a TXT string"))
            }
            return .txt(strings)
        case .opt:
            var options: [EDNSOption] = []
            while offset < end {
                let code = try u16(limit: end, "an EDNS option")
                let count = Int(try u16(limit: end, "an EDNS option"))
                options.append(EDNSOption(code: code, data: try take(count, limit: end, "an EDNS option")))
            }
            return .opt(options)
        case .tsig:
            let algorithm = try name(limit: end)
            let timeHigh = try u16(limit: end, "a TSIG record")
            let timeLow = try u32(limit: end, "a TSIG record")
            let fudge = try u16(limit: end, "a TSIG record")
            let macSize = Int(try u16(limit: end, "a TSIG record"))
            let mac = try take(macSize, limit: end, "a TSIG MAC")
            let originalID = try u16(limit: end, "a TSIG record")
            let error = try u16(limit: end, "a TSIG record")
            let otherSize = Int(try u16(limit: end, "a TSIG record"))
            let other = try take(otherSize, limit: end, "TSIG other data")
            return .tsig(TSIGData(algorithm: algorithm, timeSigned: UInt64(timeHigh) << 32 | UInt64(timeLow), fudge: fudge,
                                  mac: mac, originalID: originalID, error: DNSResponseCode(error), otherData: other))
        default:
            return .unknown(try take(length, limit: end, "a \(type) record"))
        }
    }

    /// Reads a whole message; the bytes must hold exactly what the header announces.
    mutating func message() throws(DNSMessageError) -> DNSMessage {
        let (header, counts) = try header()
        var message = DNSMessage(header: header)
        // Each entry takes at least 5 (question) or 11 (record) bytes; a count the data cannot hold fails here
        // before anything is read or reserved.
        let minimum = counts[0] * 5 + (counts[1] + counts[2] + counts[3]) * 11
        guard minimum <= bytes.count - offset else {
            throw DNSMessageError(.truncated, "the header announces more entries than \(bytes.count) bytes can hold", at: 4)
        }
        for _ in 0..<counts[0] { message.questions.append(try question()) }
        for _ in 0..<counts[1] { message.answers.append(try record()) }
        for _ in 0..<counts[2] { message.authorities.append(try record()) }
        for _ in 0..<counts[3] { message.additionals.append(try record()) }
        guard offset == bytes.count else {
            throw DNSMessageError(.trailingData, "\(bytes.count - offset) bytes follow the last record", at: offset)
        }
        try DNSMessageReader.checkPlacement(message)
        return message
    }

    /// OPT and TSIG may only be additional records; at most one OPT, and TSIG only as the very last record.
    static func checkPlacement(_ message: DNSMessage) throws(DNSMessageError) {
        for record in message.answers + message.authorities where record.type == .opt || record.type == .tsig {
            throw DNSMessageError(.misplacedRecord, "a \(record.type) record outside the additional section")
        }
        let optCount = message.additionals.filter { $0.type == .opt }.count
        guard optCount <= 1 else { throw DNSMessageError(.misplacedRecord, "\(optCount) OPT records; at most one is allowed") }
        if let opt = message.additionals.first(where: { $0.type == .opt }), !opt.name.isRoot {
            throw DNSMessageError(.misplacedRecord, "an OPT record whose owner is not the root")
        }
        if let index = message.additionals.firstIndex(where: { $0.type == .tsig }), index != message.additionals.count - 1 {
            throw DNSMessageError(.misplacedRecord, "a TSIG record that is not the last record")
        }
    }
}

extension DNSMessage {
    /// Reads a message. Any malformed input, however hostile, is a thrown ``DNSMessageError``.
    public init(decoding bytes: [UInt8]) throws(DNSMessageError) {
        var reader = DNSMessageReader(bytes)
        self = try reader.message()
    }

    /// Reads a message and says where its TSIG record starts, for verifying the signature over what precedes it.
    static func decodeSigned(_ bytes: [UInt8]) throws(DNSMessageError) -> (message: DNSMessage, tsigOffset: Int?) {
        var reader = DNSMessageReader(bytes)
        let message = try reader.message()
        return (message, message.tsig == nil ? nil : reader.tsigOffset)
    }
}
