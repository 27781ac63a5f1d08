/// Finds members in JSON bytes without decoding them: enough to read a host's answer, whose keys appear once and
/// whose string values (JWS, base64url, hex) hold no escapes.
enum JSONScan {
    enum Value: Equatable {
        /// The bytes between the quotes.
        case string(Range<Int>)
        /// The bytes of a number or literal.
        case bare(Range<Int>)
    }

    /// The value of the member `"key"` in `bytes`.
    static func value(of key: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        key.withUTF8Buffer { name -> Value? in
            var start = 0
            while let quote = find(UInt8(ascii: "\""), in: bytes, from: start) {
                start = quote + 1
                let end = quote + 1 + name.count
                guard end < bytes.count, bytes[end] == UInt8(ascii: "\""),
                      (0..<name.count).allSatisfy({ bytes[quote + 1 + $0] == name[$0] })
                else { continue }
                var position = skipSpace(bytes, from: end + 1)
                // A key is followed by a colon; the same characters as a value are not.
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { continue }
                position = skipSpace(bytes, from: position + 1)
                guard position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: "\"") {
                    guard let close = find(UInt8(ascii: "\""), in: bytes, from: position + 1) else { return nil }
                    return .string((position + 1)..<close)
                }
                var stop = position
                while stop < bytes.count, !isDelimiter(bytes[stop]) { stop += 1 }
                return .bare(position..<stop)
            }
            return nil
        }
    }

    /// Reads an integer value (bare, or a string of decimal digits).
    static func integer(_ value: Value, in bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let range: Range<Int>
        switch value {
        case .string(let r), .bare(let r): range = r
        }
        guard !range.isEmpty else { return nil }
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound else { return nil }
        var number: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10, number < Int64.max / 10 else { return nil }
            number = number * 10 + Int64(digit)
            index += 1
        }
        return negative ? -number : number
    }

    /// A result code: "0xC004F038" (as Tally writes it), or a number.
    static func resultCode(_ value: Value, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        if case .string(let range) = value, range.count > 2, bytes[range.lowerBound] == UInt8(ascii: "0"),
           bytes[range.lowerBound + 1] | 0x20 == UInt8(ascii: "x") {
            var code: UInt32 = 0
            guard range.count <= 10 else { return nil }
            for index in (range.lowerBound + 2)..<range.upperBound {
                let byte = bytes[index] | 0x20
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                default: return nil
                }
                code = code << 4 | UInt32(digit)
            }
            return code
        }
        return integer(value, in: bytes).map { UInt32(truncatingIfNeeded: $0) }
    }

    static func find(_ byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress else { return nil }
        guard let found = memchrBytes(base + start, byte, bytes.count - start) else { return nil }
        return found - base
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        return index
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == 9 || byte == 10 || byte == 13
    }

    static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || isSpace(byte)
    }
}
