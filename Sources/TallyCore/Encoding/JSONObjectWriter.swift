/// Writes one flat JSON object by hand, members in the order given. The host signs two tokens and stores an
/// event for every request; Foundation's JSONEncoder cost as much as a signature there. Callers give keys in
/// sorted order, so the output matches `TallyJSON`'s sorted keys.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8]
    private var empty = true

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ key: String, _ value: String) {
        self.key(key)
        appendString(value)
    }

    public mutating func string(_ key: String, _ value: String?) {
        if let value { string(key, value) }
    }

    public mutating func integer<I: BinaryInteger>(_ key: String, _ value: I) {
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A string known to need no escaping (base64url and dots: a JWS), copied as it is.
    public mutating func token(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: value.utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A value that is already JSON.
    public mutating func raw(_ key: String, _ json: [UInt8]) {
        self.key(key)
        bytes.append(contentsOf: json)
    }

    public mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    /// A JSON string (RFC 8259 §7): quotes, backslashes and control characters escaped, the rest as UTF-8.
    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A string-to-string dictionary as a JSON object with sorted keys (event fields).
    public static func object(_ fields: [String: String]) -> [UInt8] {
        var writer = JSONObjectWriter(capacity: 64 * fields.count)
        for key in fields.keys.sorted() { writer.string(key, fields[key]!) }
        return writer.finish()
    }
}

extension TicketClaims {
    /// The claims as JSON, keys sorted: the same bytes' meaning as `TallyJSON`, written without JSONEncoder.
    public var jsonBytes: [UInt8] {
        var w = JSONObjectWriter(capacity: 512)
        if let ai { w.integer("ai", ai) }
        w.integer("cnt", cnt)
        w.integer("exp", exp)
        w.string("fpr", fpr)
        if let htm { w.integer("htm", htm) }
        w.integer("iat", iat)
        w.string("iss", iss)
        w.string("jti", jti)
        if let nce { w.string("nce", nce) }
        if let req { w.integer("req", req) }
        if let res { w.string("res", res.hex) }
        if let ri { w.integer("ri", ri) }
        w.integer("rnw", rnw)
        w.string("sku", sku)
        w.string("sub", sub)
        w.integer("ver", ver)
        return w.finish()
    }
}

extension ResponseClaims {
    /// The claims as JSON, keys sorted, written without JSONEncoder.
    public var jsonBytes: [UInt8] {
        var w = JSONObjectWriter(capacity: 512 + (tkt?.utf8.count ?? 0))
        w.integer("ai", ai)
        w.integer("cur", cur)
        w.integer("htm", htm)
        w.string("iss", iss)
        w.string("nce", nce)
        w.integer("req", req)
        w.string("res", res.hex)
        w.integer("ri", ri)
        w.string("sku", sku)
        w.string("sub", sub)
        w.token("tkt", tkt)
        w.integer("ver", ver)
        return w.finish()
    }
}
