/// base64url (no padding) decoding from bytes into a reused buffer: the driver decodes the payload of every
/// answer, so it neither builds strings nor allocates.
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
        output.removeAll(keepingCapacity: true)
        guard input.count % 4 != 1 else { return false }
        return values.withUnsafeBufferPointer { table in
            var accumulator: UInt32 = 0
            var bits = 0
            for byte in input {
                let value = table[Int(byte)]
                guard value != 0xFF else { return false }
                accumulator = accumulator << 6 | UInt32(value)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                }
            }
            return true
        }
    }
}
