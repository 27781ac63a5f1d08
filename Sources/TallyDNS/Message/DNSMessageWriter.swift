/// Writes messages, compressing names (RFC 1035 §4.1.4) where compression is allowed: owner names and the
/// names inside NS, CNAME and SOA data. SRV targets (RFC 2782) and TSIG algorithm names (RFC 8945) are never
/// compressed.
struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    private let compress: Bool
    /// Offsets of name suffixes already written, keyed by their lower-cased labels.
    private var suffixes: [[[UInt8]]: Int] = [:]

    init(compress: Bool = true) {
        self.compress = compress
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(value >> 16))
        u16(UInt16(value & 0xFFFF))
    }

    mutating func name(_ name: DNSName, compressible: Bool = true) {
        let canonical = name.canonicalLabels
        for index in name.labels.indices {
            let suffix = Array(canonical[index...])
            if compress, compressible, let target = suffixes[suffix] {
                u16(0xC000 | UInt16(target))
                return
            }
            if compress, bytes.count < 0x3FFF, suffixes[suffix] == nil { suffixes[suffix] = bytes.count }
            u8(UInt8(name.labels[index].count))
            bytes.append(contentsOf: name.labels[index])
        }
        u8(0)
    }

    mutating func question(_ question: DNSQuestion) {
        name(question.name)
        u16(question.type.rawValue)
        u16(question.class.rawValue)
    }

    mutating func record(_ record: DNSResourceRecord) throws(DNSMessageError) {
        name(record.name)
        u16(record.type.rawValue)
        u16(record.class.rawValue)
        u32(record.ttl)
        let lengthAt = bytes.count
        u16(0)
        try data(record.data)
        let length = bytes.count - lengthAt - 2
        guard length <= Int(UInt16.max) else {
            throw DNSMessageError(.tooLarge, "the data of a \(record.type) record is \(length) bytes; the limit is 65535")
        }
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }

    private mutating func data(_ data: DNSRecordData) throws(DNSMessageError) {
        switch data {
        case .a(let address): bytes.append(contentsOf: address.octets)
        case .aaaa(let address): bytes.append(contentsOf: address.octets)
        case .srv(let srv):
            u16(srv.priority)
            u16(srv.weight)
            u16(srv.port)
            name(srv.target, compressible: false)
        case .soa(let soa):
            name(soa.primary)
            name(soa.responsible)
            for number in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { u32(number) }
        case .ns(let target), .cname(let target):
            name(target)
        case .txt(let strings):
            for string in strings {
                guard string.count <= 255 else { throw DNSMessageError(.tooLarge, "a TXT string is \(string.count) bytes; the limit is 255") }
                u8(UInt8(string.count))
                bytes.append(contentsOf: string)
            }
        case .opt(let options):
            for option in options {
                guard option.data.count <= Int(UInt16.max) else { throw DNSMessageError(.tooLarge, "an EDNS option is too large") }
                u16(option.code)
                u16(UInt16(option.data.count))
                bytes.append(contentsOf: option.data)
            }
        case .tsig(let tsig):
            guard tsig.mac.count <= Int(UInt16.max), tsig.otherData.count <= Int(UInt16.max), tsig.timeSigned < 1 << 48 else {
                throw DNSMessageError(.tooLarge, "a TSIG field is too large")
            }
            name(tsig.algorithm, compressible: false)
            u16(UInt16(tsig.timeSigned >> 32))
            u32(UInt32(tsig.timeSigned & 0xFFFF_FFFF))
            u16(tsig.fudge)
            u16(UInt16(tsig.mac.count))
            bytes.append(contentsOf: tsig.mac)
            u16(tsig.originalID)
            u16(tsig.error.rawValue)
            u16(UInt16(tsig.otherData.count))
            bytes.append(contentsOf: tsig.otherData)
        case .empty:
            break
        case .unknown(let raw):
            bytes.append(contentsOf: raw)
        }
    }
}

extension DNSMessage {
    /// The message on the wire, names compressed unless `compress` is false.
    ///
    /// - Throws: ``DNSMessageError`` when a section has more than 65535 entries, a field is too large, or the
    ///   whole is larger than 65535 bytes.
    public func encoded(compress: Bool = true) throws(DNSMessageError) -> [UInt8] {
        let counts = [questions.count, answers.count, authorities.count, additionals.count]
        guard counts.allSatisfy({ $0 <= Int(UInt16.max) }) else {
            throw DNSMessageError(.tooLarge, "a section has more than 65535 entries")
        }
        var writer = DNSMessageWriter(compress: compress)
        writer.u16(header.id)
        writer.u16(header.flags)
        for count in counts { writer.u16(UInt16(count)) }
        for question in questions { writer.question(question) }
        for record in answers + authorities + additionals { try writer.record(record) }
        guard writer.bytes.count <= DNSMessage.maximumSize else {
            throw DNSMessageError(.tooLarge, "the message is \(writer.bytes.count) bytes; the limit is 65535")
        }
        return writer.bytes
    }

    /// One record on its own, uncompressed: what TSIG appends to an already written message.
    static func encodeStandalone(_ record: DNSResourceRecord) throws(DNSMessageError) -> [UInt8] {
        var writer = DNSMessageWriter(compress: false)
        try writer.record(record)
        return writer.bytes
    }
}
