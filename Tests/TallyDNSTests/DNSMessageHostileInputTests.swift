import Testing
@testable import TallyDNS

/// The reader against broken and hostile input: every case must be a thrown error, never a crash or a hang.
@Suite struct DNSMessageHostileInputTests {
    /// A header announcing `counts` entries, followed by `body`.
    func message(qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0, _ body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x12, 0x34, 0x81, 0x80]
        for count in [qd, an, ns, ar] { bytes += [UInt8(count >> 8), UInt8(count & 0xFF)] }
        return bytes + body
    }

    func kind(_ bytes: [UInt8]) -> DNSMessageError.Kind? {
        do {
            _ = try DNSMessage(decoding: bytes)
            return nil
        } catch {
            return error.kind
        }
    }

    @Test func everyPrefixOfAValidMessageThrows() throws {
        for bytes in [try sampleMessage().encoded(), try sampleMessage().encoded(compress: false)] {
            #expect(try DNSMessage(decoding: bytes) == sampleMessage())
            for length in 0..<bytes.count {
                #expect(throws: DNSMessageError.self, "prefix of \(length) bytes") { try DNSMessage(decoding: Array(bytes.prefix(length))) }
            }
        }
    }

    @Test func randomMutationsNeverCrashAndWhatDecodesRoundTrips() throws {
        var random = SeededRandom(seed: 0x7A11)
        let original = try sampleMessage().encoded()
        var decodedCount = 0
        for _ in 0..<20_000 {
            var bytes = original
            for _ in 0...Int.random(in: 0...3, using: &random) {
                switch Int.random(in: 0...3, using: &random) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 2: bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &random)..<bytes.count)
                default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
                }
                if bytes.isEmpty { bytes = [0] }
            }
            guard let decoded = try? DNSMessage(decoding: bytes) else { continue }
            decodedCount += 1
            // What the reader accepts, the writer can write, and reading that gives the same message.
            let again = try DNSMessage(decoding: try decoded.encoded())
            #expect(again == decoded)
        }
        // Some mutations (TTLs, ids, data bytes) leave a valid message: the property above was exercised.
        #expect(decodedCount > 100)
    }

    @Test func pointerToItselfIsRefused() {
        // The question's name is a pointer to its own offset (12).
        #expect(kind(message(qd: 1, [0xC0, 0x0C, 0, 1, 0, 1])) == .forwardPointer)
    }

    @Test func pointerBackIntoTheSameNameIsALoop() {
        // "a" then a pointer back to the "a" label: a.a.a.… forever if followed.
        #expect(kind(message(qd: 1, [1, 0x61, 0xC0, 0x0C, 0, 1, 0, 1])) == .pointerLoop)
    }

    @Test func twoNamesPointingAtEachOtherAreRefused() {
        // Q1 at 12: "a" + pointer to Q2 (20, forward). Q2 at 20: "b" + pointer to 12.
        let body: [UInt8] = [1, 0x61, 0xC0, 20, 0, 1, 0, 1, 1, 0x62, 0xC0, 12, 0, 1, 0, 1]
        #expect(kind(message(qd: 2, body)) == .forwardPointer)
    }

    @Test func chainOfBackwardPointersEnds() throws {
        // Q1 "a." at 12; Q2 at 19 = "b" + pointer to 12; Q3 at 27 = "c" + pointer to 19: c.b.a.
        let body: [UInt8] = [1, 0x61, 0, 0, 1, 0, 1, 1, 0x62, 0xC0, 12, 0, 1, 0, 1, 1, 0x63, 0xC0, 19, 0, 1, 0, 1]
        let decoded = try DNSMessage(decoding: message(qd: 3, body))
        #expect(decoded.questions.map(\.name) == [name("a"), name("b.a"), name("c.b.a")])
    }

    @Test func pointersOutOfRangeAreRefused() {
        #expect(kind(message(qd: 1, [0xFF, 0xFF, 0, 1, 0, 1])) == .pointerOutOfRange)
        // Into the header.
        #expect(kind(message(qd: 1, [0xC0, 0x04, 0, 1, 0, 1])) == .pointerOutOfRange)
    }

    @Test func reservedLabelTypesAreRefused() {
        // 0x40 (a "label" of 64) and 0x80 are reserved bit patterns: no label can be longer than 63.
        #expect(kind(message(qd: 1, [0x40] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1])) == .badLabelType)
        #expect(kind(message(qd: 1, [0x80, 0, 0, 1, 0, 1])) == .badLabelType)
    }

    @Test func namesLongerThan255BytesAreRefused() {
        let label: [UInt8] = [63] + Array(repeating: 0x61, count: 63)
        #expect(kind(message(qd: 1, label + label + label + label + [0, 0, 1, 0, 1])) == .nameTooLong)
        // Two names of 193 bytes joined by a pointer also exceed the limit.
        let first = label + label + label + [0]  // 193 bytes, at 12
        let second = label + label + [0xC0, 12]  // 128 + 193 > 255
        #expect(kind(message(qd: 2, first + [0, 1, 0, 1] + second + [0, 1, 0, 1])) == .nameTooLong)
    }

    @Test func countsLargerThanTheDataAreRefusedUpFront() {
        #expect(kind(message(qd: 0xFFFF, an: 0xFFFF, ns: 0xFFFF, ar: 0xFFFF, [])) == .truncated)
        #expect(kind(message(an: 2, [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])) == .truncated)
    }

    @Test func recordDataMustFitAndBeFilledExactly() {
        // An A record announcing 10 bytes with 4 present.
        #expect(kind(message(an: 1, [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 10, 1, 2, 3, 4])) == .truncated)
        // An A record of 5 bytes.
        #expect(kind(message(an: 1, [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5])) == .badRecordData)
        // An SRV record with a byte after its target.
        #expect(kind(message(an: 1, [0, 0, 33, 0, 1, 0, 0, 0, 60, 0, 8, 0, 1, 0, 2, 0, 3, 0, 9])) == .badRecordData)
        // An SRV record whose target runs past the record data into the next bytes.
        #expect(kind(message(an: 1, [0, 0, 33, 0, 1, 0, 0, 0, 60, 0, 8, 0, 1, 0, 2, 0, 3, 1, 0x61, 0])) == .truncated)
        // A TSIG record whose MAC length runs past its data.
        let tsig: [UInt8] = [0] + [0, 250, 0, 255, 0, 0, 0, 0, 0, 12] + [0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2C, 0xFF, 0xFF]
        #expect(kind(message(ar: 1, tsig)) == .truncated)
    }

    @Test func trailingBytesAreRefused() throws {
        let bytes = try sampleMessage().encoded() + [0]
        #expect(kind(bytes) == .trailingData)
    }

    @Test func optAndTSIGOnlyWhereTheyBelong() {
        let opt: [UInt8] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]
        #expect(kind(message(an: 1, opt)) == .misplacedRecord)
        #expect(kind(message(ar: 2, opt + opt)) == .misplacedRecord)
        let tsigRecord = DNSResourceRecord(name: name("k"), type: .tsig, class: .any, ttl: 0,
                                           data: .tsig(TSIGData(algorithm: name("hmac-sha256"), timeSigned: 1, fudge: 300, mac: [1], originalID: 0)))
        let notLast = DNSMessage(header: DNSHeader(), additionals: [tsigRecord, EDNS().record])
        #expect(kind(try! notLast.encoded()) == .misplacedRecord)
    }

    @Test func oversizedInputIsRefusedWithoutReadingIt() {
        #expect(kind(message(Array(repeating: 0, count: 70_000))) == .tooLarge)
    }

    @Test func labelsOfEveryByteValueAreData() throws {
        // DNS names are 8-bit clean; the reader keeps odd bytes and the printer escapes them.
        let decoded = try DNSMessage(decoding: message(qd: 1, [3, 0x00, 0x2E, 0xFF, 0, 0, 1, 0, 1]))
        #expect(decoded.questions[0].name.labels == [[0x00, 0x2E, 0xFF]])
        #expect(decoded.questions[0].name.description == #"\000\.\255."#)
    }
}
