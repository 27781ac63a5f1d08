/// One `POST /v1/activate` request, HTTP head included, prepared once as bytes with fixed places for what must
/// differ per request (CMID, fingerprint, nonce, client time). Filling it costs a few hundred byte stores, so
/// the driver builds no JSON and allocates nothing per request.
public struct ActivationRequestTemplate: Sendable {
    /// The protocol version sent in `ver`.
    public let version: Int
    public let sku: String
    /// `hch`: base64url SHA-256 of the host certificate the client holds (protocol 2; a version-1 host ignores it).
    public let certificateHash: String?
    /// Without keep-alive the request asks the host to close the connection after the answer.
    public let keepAlive: Bool
    /// The whole request; the variable places hold placeholders until filled.
    public let bytes: [UInt8]
    let cmidOffset: Int
    let fingerprintOffset: Int
    let timeOffset: Int
    let nonceOffset: Int

    public init(version: Int, sku: String = "studio-pro", certificateHash: String? = nil, keepAlive: Bool = true) {
        self.version = version
        self.sku = sku
        self.certificateHash = certificateHash
        self.keepAlive = keepAlive
        var body: [UInt8] = []
        func append(_ text: String) { body += Array(text.utf8) }
        append("{\"ver\":\(version),\"cmid\":\"")
        let cmid = body.count
        append(String(repeating: "0", count: 36) + "\",\"sku\":\"\(sku)\",\"fingerprint\":\"")
        let fingerprint = body.count
        append(String(repeating: "0", count: 64) + "\",\"machine\":\"bench\",\"clientTime\":")
        let time = body.count
        append("0000000000,\"nonce\":\"")
        let nonce = body.count
        append(String(repeating: "A", count: 22) + "\",\"licenseStatus\":\"Initial grace\",\"minutesToExpiry\":43200")
        if let certificateHash { append(",\"hch\":\"\(certificateHash)\"") }
        append("}")
        var head = "POST /v1/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        if !keepAlive { head += "Connection: close\r\n" }
        head += "\r\n"
        let headBytes = Array(head.utf8)
        bytes = headBytes + body
        cmidOffset = headBytes.count + cmid
        fingerprintOffset = headBytes.count + fingerprint
        timeOffset = headBytes.count + time
        nonceOffset = headBytes.count + nonce
    }

    /// Writes a fresh CMID (a version-4 UUID), fingerprint and nonce, and `now` as the client time, into
    /// `buffer`, which holds a copy of ``bytes``.
    func fill(_ buffer: UnsafeMutablePointer<UInt8>, random: inout SplitMix64, now: Int) {
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { digits in
            // CMID: 32 hex digits as 8-4-4-4-12, version 4, variant 10.
            var a = random.next(), b = random.next()
            a = (a & ~0xF000) | 0x4000
            b = (b & ~(0xC000_0000_0000_0000)) | 0x8000_0000_0000_0000
            var out = buffer + cmidOffset
            for index in 0..<32 {
                if index == 8 || index == 12 || index == 16 || index == 20 {
                    out.pointee = UInt8(ascii: "-")
                    out += 1
                }
                let word = index < 16 ? a : b
                let shift = UInt64(60 - 4 * (index % 16))
                out.pointee = digits[Int((word >> shift) & 0xF)]
                out += 1
            }
            out = buffer + fingerprintOffset
            for _ in 0..<4 {
                let word = random.next()
                for nibble in 0..<16 {
                    out.pointee = digits[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)]
                    out += 1
                }
            }
        }
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        alphabet.withUTF8Buffer { letters in
            // 22 base64url characters: 132 random bits, more than the 16 bytes a client sends.
            let words = (random.next(), random.next())
            for index in 0..<22 {
                let word = index < 11 ? words.0 : words.1
                buffer[nonceOffset + index] = letters[Int((word >> UInt64(6 * (index % 11))) & 63)]
            }
        }
        var time = now
        for index in (0..<10).reversed() {
            buffer[timeOffset + index] = UInt8(ascii: "0") + UInt8(time % 10)
            time /= 10
        }
    }

    /// A filled copy, for one-off requests.
    public func make() -> [UInt8] {
        var random = SplitMix64()
        return make(random: &random)
    }

    func make(random: inout SplitMix64) -> [UInt8] {
        var copy = bytes
        let now = Clocks.unixSeconds()
        copy.withUnsafeMutableBufferPointer { fill($0.baseAddress!, random: &random, now: now) }
        return copy
    }
}
