/// Finds where an HTTP/1.1 response ends in bytes read so far, without copying them: the driver calls it after
/// every read until it says `complete`.
public enum HTTPResponseScanner {
    public enum Outcome: Sendable, Equatable {
        /// More bytes are needed.
        case incomplete
        /// Not an HTTP response.
        case invalid
        /// A whole response: its head and its total length (head and body) in the buffer.
        case complete(HTTPResponseHead, total: Int)
    }

    /// Scans `bytes`, the start of a response. `atEOF`: the host closed the connection after these bytes, which
    /// ends a body framed by neither a length nor chunks.
    public static func scan(_ bytes: UnsafeBufferPointer<UInt8>, atEOF: Bool = false) -> Outcome {
        guard let end = headEnd(bytes) else { return bytes.count > 64 * 1024 ? .invalid : .incomplete }
        guard let head = parseHead(bytes, length: end) else { return .invalid }
        if head.chunked {
            switch chunkedEnd(bytes, from: head.length) {
            case .some(.some(let total)): return .complete(head, total: total)
            case .some(.none): return .invalid
            case .none: return .incomplete
            }
        }
        if let length = head.contentLength {
            return bytes.count >= head.length + length ? .complete(head, total: head.length + length) : .incomplete
        }
        if head.status < 200 || head.status == 204 || head.status == 304 { return .complete(head, total: head.length) }
        return atEOF ? .complete(head, total: bytes.count) : .incomplete
    }

    /// The body of a complete response, de-chunked when it was sent in chunks.
    public static func body(_ bytes: UnsafeBufferPointer<UInt8>, head: HTTPResponseHead, total: Int) -> [UInt8] {
        guard head.chunked else { return Array(bytes[head.length..<total]) }
        var body: [UInt8] = []
        var position = head.length
        while let line = lineEnd(bytes, from: position), let size = chunkSize(bytes, position..<line), size > 0 {
            body += bytes[(line + 2)..<(line + 2 + size)]
            position = line + 2 + size + 2
        }
        return body
    }

    /// The index just past "\r\n\r\n", if the head is complete.
    static func headEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= 4 else { return nil }
        var index = 0
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index + 4 }
            index += 1
        }
        return nil
    }

    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, length: Int) -> HTTPResponseHead? {
        // "HTTP/1.1 200 Reason"
        guard length >= 12, bytes[0] == UInt8(ascii: "H"), bytes[4] == UInt8(ascii: "/"), bytes[8] == UInt8(ascii: " ") else { return nil }
        var status = 0
        for index in 9..<12 {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            status = status * 10 + Int(digit)
        }
        let http10 = bytes[5] == UInt8(ascii: "1") && bytes[7] == UInt8(ascii: "0")
        var head = HTTPResponseHead(status: status, length: length, contentLength: nil, chunked: false, closes: http10)
        guard var position = lineEnd(bytes, from: 0).map({ $0 + 2 }) else { return nil }
        while position < length - 2, let end = lineEnd(bytes, from: position) {
            let line = UnsafeBufferPointer(rebasing: bytes[position..<end])
            position = end + 2
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = UnsafeBufferPointer(rebasing: line[..<colon])
            let value = UnsafeBufferPointer(rebasing: line[(colon + 1)...])
            if equalsLowercased(name, "content-length") {
                var number = 0
                var digits = 0
                for byte in value where byte != UInt8(ascii: " ") && byte != 9 {
                    let digit = byte &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    number = number * 10 + Int(digit)
                    digits += 1
                }
                guard digits > 0 else { return nil }
                head.contentLength = number
            } else if equalsLowercased(name, "transfer-encoding") {
                head.chunked = containsLowercased(value, "chunked")
            } else if equalsLowercased(name, "connection") {
                if containsLowercased(value, "close") { head.closes = true }
                if containsLowercased(value, "keep-alive") { head.closes = false }
            }
        }
        return head
    }

    /// `nil`: more bytes needed; `.some(nil)`: malformed; else the total length.
    static func chunkedEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int?? {
        var position = start
        while true {
            guard let line = lineEnd(bytes, from: position) else { return nil }
            guard let size = chunkSize(bytes, position..<line) else { return .some(nil) }
            position = line + 2
            if size == 0 {
                // Trailer lines, then a blank line.
                while true {
                    guard let end = lineEnd(bytes, from: position) else { return nil }
                    if end == position { return .some(end + 2) }
                    position = end + 2
                }
            }
            guard bytes.count >= position + size + 2 else { return nil }
            position += size + 2
        }
    }

    static func chunkSize(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        var size = 0
        var digits = 0
        for index in range {
            let byte = bytes[index]
            if byte == UInt8(ascii: ";") { break }
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: " "), 9: continue
            default: return nil
            }
            guard digits < 15 else { return nil }
            size = size * 16 + value
            digits += 1
        }
        return digits > 0 ? size : nil
    }

    /// The index of the next "\r\n" at or after `start`.
    static func lineEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        var trimmed = bytes[...]
        while let last = trimmed.last, last == UInt8(ascii: " ") || last == 9 { trimmed = trimmed.dropLast() }
        return word.withUTF8Buffer { expected in
            guard trimmed.count == expected.count else { return false }
            return zip(trimmed, expected).allSatisfy { lowercase($0) == $1 }
        }
    }

    static func containsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { expected in
            guard bytes.count >= expected.count else { return false }
            for start in 0...(bytes.count - expected.count)
            where (0..<expected.count).allSatisfy({ lowercase(bytes[start + $0]) == expected[$0] }) {
                return true
            }
            return false
        }
    }

    static func lowercase(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
