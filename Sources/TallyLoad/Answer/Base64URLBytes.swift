/// base64url (no padding) decoding from bytes into a reused buffer: the driver decodes the payload of every
/// answer, so it neither builds strings nor allocates, and writes four characters' worth at a time.
enum Base64URLBytes {
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8.enumerated() {
            table[Int(byte)] = UInt8(index)
        }
        return table
    }()

    /// Replaces `output`'s contents with the decoded bytes; `false` for a byte outside the alphabet or a
    /// length no encoding has.
    static func decode(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Bool {
        guard input.count % 4 != 1 else { return false }
        let length = input.count / 4 * 3 + max(0, input.count % 4 - 1)
        output.removeAll(keepingCapacity: true)
        output.append(contentsOf: repeatElement(0, count: length))
        return values.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { out in
                var invalid: UInt8 = 0
                var i = 0, o = 0
                while i + 4 <= input.count {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                    invalid |= (a | b | c | d) & 0x80
                    out[o] = a << 2 | b >> 4
                    out[o + 1] = b << 4 | c >> 2
                    out[o + 2] = c << 6 | d
                    i += 4
                    o += 3
                }
                let rest = input.count - i
                if rest >= 2 {
                    let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                    invalid |= (a | b) & 0x80
                    out[o] = a << 2 | b >> 4
                    if rest == 3 {
                        let c = table[Int(input[i + 2])]
                        invalid |= c & 0x80
                        out[o + 1] = b << 4 | c >> 2
                    }
                }
                return invalid == 0
            }
        }
    }
}
