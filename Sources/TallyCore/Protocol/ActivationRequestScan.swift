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

        var string: String? { if case .string(let text) = self { text } else { nil } }
        var integer: Int64? { if case .integer(let number) = self { number } else { nil } }
        var bool: Bool? { if case .bool(let flag) = self { flag } else { nil } }
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
                let taken: Bool
                switch key {
                case "ver": taken = Self.once(&ver, value.integer)
                case "clientTime": taken = Self.once(&clientTime, value.integer)
                case "cmid": taken = Self.once(&cmid, value.string)
                case "sku": taken = Self.once(&sku, value.string)
                case "fingerprint": taken = Self.once(&fingerprint, value.string)
                case "machine": taken = Self.once(&machine, value.string)
                case "nonce": taken = Self.once(&nonce, value.string)
                case "licenseStatus": taken = Self.once(&licenseStatus, value.string)
                case "minutesToExpiry": taken = Self.onceOrNull(&minutesToExpiry, value) { $0.integer.flatMap { Int32(exactly: $0) } }
                case "vm": taken = Self.onceOrNull(&vm, value) { $0.bool }
                case "hch": taken = Self.onceOrNull(&hch, value) { $0.string }
                default:
                    taken = true  // Unknown keys are ignored, as JSONDecoder ignores them.
                }
                guard taken else { return nil }
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

        /// A required field: set once, from a value of its type.
        static func once<T>(_ field: inout T?, _ value: T?) -> Bool {
            guard field == nil, let value else { return false }
            field = value
            return true
        }

        /// An optional field: set once, to `null` or to what `read` takes from the value.
        static func onceOrNull<T>(_ field: inout T??, _ value: Value, _ read: (Value) -> T?) -> Bool {
            guard field == nil else { return false }
            if case .null = value {
                field = .some(nil)
                return true
            }
            guard let read = read(value) else { return false }
            field = read
            return true
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
