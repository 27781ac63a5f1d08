/// The activation request body in the shape clients send it, read in one pass over its bytes.
///
/// `JSONDecoder` was about 7 % of a busy host's CPU for a body of a dozen flat fields. This reads exactly one
/// shape: a JSON object whose values are strings without escapes, whole numbers, `true`, `false` or `null`, each
/// key once. Anything else (an escape, a fraction, a nested value, a repeated or missing field, a number too large
/// for its field, bytes after the object, invalid UTF-8) makes it give up and return `nil`, and the body goes to
/// `JSONDecoder` as before, so what is refused, and with which message, does not change. What it accepts it reads
/// as `JSONDecoder` would (unknown keys are ignored); `ActivationRequestScanTests` checks that on the fuzzer's corpus
/// and on mutations of it.
package enum ActivationRequestScan {
    /// The body, or `nil` when it is not in the one shape read here.
    package static func body(_ bytes: UnsafeRawBufferPointer) -> ActivationRequestBody? {
        var scanner = Scanner(bytes: bytes)
        return scanner.object()
    }

    private enum Value {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case null
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func object() -> ActivationRequestBody? {
            skipSpace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var ver: Int64?, clientTime: Int64?
            var cmid: String?, sku: String?, fingerprint: String?, machine: String?, nonce: String?, licenseStatus: String?
            // Optional fields: present (possibly null) or not.
            var minutesToExpiry: Int32??, vm: Bool??, hch: String??
            skipSpace()
            if peek() == UInt8(ascii: "}") { return nil }
            while true {
                guard let key = keyBytes() else { return nil }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipSpace()
                guard let value = value() else { return nil }
                switch key {
                case "ver": guard ver == nil, case .integer(let number) = value else { return nil }; ver = number
                case "clientTime": guard clientTime == nil, case .integer(let number) = value else { return nil }; clientTime = number
                case "cmid": guard cmid == nil, case .string(let text) = value else { return nil }; cmid = text
                case "sku": guard sku == nil, case .string(let text) = value else { return nil }; sku = text
                case "fingerprint": guard fingerprint == nil, case .string(let text) = value else { return nil }; fingerprint = text
                case "machine": guard machine == nil, case .string(let text) = value else { return nil }; machine = text
                case "nonce": guard nonce == nil, case .string(let text) = value else { return nil }; nonce = text
                case "licenseStatus": guard licenseStatus == nil, case .string(let text) = value else { return nil }; licenseStatus = text
                case "minutesToExpiry":
                    guard minutesToExpiry == nil else { return nil }
                    switch value {
                    case .null: minutesToExpiry = .some(nil)
                    case .integer(let number):
                        guard let small = Int32(exactly: number) else { return nil }
                        minutesToExpiry = small
                    default: return nil
                    }
                case "vm":
                    guard vm == nil else { return nil }
                    switch value {
                    case .null: vm = .some(nil)
                    case .bool(let flag): vm = flag
                    default: return nil
                    }
                case "hch":
                    guard hch == nil else { return nil }
                    switch value {
                    case .null: hch = .some(nil)
                    case .string(let text): hch = text
                    default: return nil
                    }
                default:
                    break  // Unknown keys are ignored, as JSONDecoder ignores them.
                }
                skipSpace()
                if take(UInt8(ascii: ",")) {
                    skipSpace()
                    continue
                }
                guard take(UInt8(ascii: "}")) else { return nil }
                break
            }
            skipSpace()
            guard at == bytes.count, let ver, let clientTime, let cmid, let sku, let fingerprint, let machine, let nonce, let licenseStatus,
                  let version = Int(exactly: ver) else { return nil }
            return ActivationRequestBody(ver: version, cmid: cmid, sku: sku, fingerprint: fingerprint, machine: machine, clientTime: clientTime,
                                         nonce: nonce, licenseStatus: licenseStatus, minutesToExpiry: minutesToExpiry ?? nil, vm: vm ?? nil,
                                         hch: hch ?? nil)
        }

        func peek() -> UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek() == byte else { return false }
            at += 1
            return true
        }

        mutating func skipSpace() {
            while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { at += 1 }
        }

        /// A key: a string of printable ASCII without escapes.
        mutating func keyBytes() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = at
            while let byte = peek() {
                if byte == UInt8(ascii: "\"") {
                    let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                    at += 1
                    return key
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                at += 1
            }
            return nil
        }

        mutating func value() -> Value? {
            guard let first = peek() else { return nil }
            switch first {
            case UInt8(ascii: "\""):
                at += 1
                let start = at
                while let byte = peek() {
                    if byte == UInt8(ascii: "\"") {
                        let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                        at += 1
                        return text.map(Value.string)
                    }
                    guard byte >= 0x20, byte != UInt8(ascii: "\\") else { return nil }
                    at += 1
                }
                return nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return integer()
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return nil
            }
        }

        /// `-?(0|[1-9][0-9]*)` of at most 18 digits; a fraction or an exponent is left to JSONDecoder.
        mutating func integer() -> Value? {
            let negative = take(UInt8(ascii: "-"))
            var digits = 0
            var number: Int64 = 0
            let first = at
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                number = number * 10 + Int64(byte - UInt8(ascii: "0"))
                digits += 1
                at += 1
                guard digits <= 18 else { return nil }
            }
            guard digits > 0, !(digits > 1 && bytes[first] == UInt8(ascii: "0")) else { return nil }
            if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return nil }
            return .integer(negative ? -number : number)
        }

        mutating func literal(_ word: StaticString, _ value: Value) -> Value? {
            let count = word.utf8CodeUnitCount
            guard at + count <= bytes.count else { return nil }
            for offset in 0..<count where bytes[at + offset] != word.utf8Start[offset] { return nil }
            at += count
            return value
        }
    }
}

extension ActivationRequestBody {
    /// Every field as read from a body.
    init(ver: Int, cmid: String, sku: String, fingerprint: String, machine: String, clientTime: NumericDate, nonce: String,
         licenseStatus: String, minutesToExpiry: Int32?, vm: Bool?, hch: String?) {
        self.ver = ver
        self.cmid = cmid
        self.sku = sku
        self.fingerprint = fingerprint
        self.machine = machine
        self.clientTime = clientTime
        self.nonce = nonce
        self.licenseStatus = licenseStatus
        self.minutesToExpiry = minutesToExpiry
        self.vm = vm
        self.hch = hch
    }
}
