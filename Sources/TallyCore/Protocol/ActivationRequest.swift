import Foundation

/// The body of `POST /v1/activate` (see openapi.yaml): what a client tells a host.
public struct ActivationRequestBody: Codable, Sendable, Equatable {
    /// Protocol version: 2, or 1 for clients of the first protocol (answered in its format).
    public var ver: Int
    /// Client machine id, a UUID.
    public var cmid: String
    /// The SKU to activate.
    public var sku: String
    /// SHA-256 (hex) machine fingerprint.
    public var fingerprint: String
    /// The machine's name, for the administrator (shown escaped; never trusted).
    public var machine: String
    /// The client's clock, seconds since 1970.
    public var clientTime: NumericDate
    /// A random value the signed answer must echo (16 to 64 base64url characters).
    public var nonce: String
    /// The client's licence state, as KMS names it.
    public var licenseStatus: String
    /// Minutes until the client's ticket or grace expires (a 32-bit number, as the OpenAPI file says).
    public var minutesToExpiry: Int32?
    /// Whether the client runs in a virtual machine, when it knows.
    public var vm: Bool?
    /// Protocol 2: the host certificate the client holds (``HostCertificate/hash(ofCompact:)``); a host whose
    /// certificate it is leaves the certificate out of its answer.
    public var hch: String?

    /// The version this library speaks.
    public static let currentVersion = 2

    public init(cmid: String, sku: String, fingerprint: String, machine: String, clientTime: Date, nonce: String,
                licenseStatus: LicenseStatus, minutesToExpiry: Int?, vm: Bool? = nil, certificateHash: String? = nil,
                version: Int = ActivationRequestBody.currentVersion) {
        ver = version
        hch = certificateHash
        self.cmid = cmid
        self.sku = sku
        self.fingerprint = fingerprint
        self.machine = machine
        self.clientTime = NumericDate(clientTime)
        self.nonce = nonce
        self.licenseStatus = licenseStatus.rawValue
        self.minutesToExpiry = minutesToExpiry.map { Int32(clamping: $0) }
        self.vm = vm
    }

    /// Largest request body a host reads.
    public static let maximumBodyBytes = 4096
    public static let maximumMachineNameLength = 255

    /// Checks every field and returns what the policy needs; a malformed field is C0A70001 naming the field.
    public func validated() throws(TallyError) -> PolicyRequest {
        func bad(_ message: String) -> TallyError { TallyError(.malformedRequest, message) }
        guard (1...ActivationRequestBody.currentVersion).contains(ver) else {
            throw bad("ver \(ver) is not supported; this host speaks versions 1 and \(ActivationRequestBody.currentVersion)")
        }
        if let hch {
            guard hch.utf8.count == 43, hch.utf8.allSatisfy(ActivationRequestBody.isBase64URL) else {
                throw bad("hch must be 43 base64url characters (the SHA-256 of the host certificate held)")
            }
        }
        guard let cmid = CMID.validate(cmid) else { throw bad("cmid must be a UUID") }
        guard !sku.isEmpty, sku.count <= 64, sku.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw bad("sku must be 1 to 64 printable ASCII characters")
        }
        guard fingerprint.count == 64, fingerprint.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw bad("fingerprint must be 64 lower-case hex digits (SHA-256)")
        }
        guard machine.unicodeScalars.count <= ActivationRequestBody.maximumMachineNameLength else {
            throw bad("machine must be at most \(ActivationRequestBody.maximumMachineNameLength) characters")
        }
        guard (16...64).contains(nonce.utf8.count), nonce.utf8.allSatisfy(ActivationRequestBody.isBase64URL) else {
            throw bad("nonce must be 16 to 64 base64url characters")
        }
        guard LicenseStatus(rawValue: licenseStatus) != nil else {
            throw bad("licenseStatus must be one of: \(LicenseStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard clientTime > 0, clientTime < 32_503_680_000 else { throw bad("clientTime must be seconds since 1970") }
        return PolicyRequest(cmid: cmid, sku: sku, fingerprint: fingerprint, clientTime: clientTime.date)
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// Decodes and validates a body; every failure is C0A70001 with a message naming the problem. The usual shape
    /// is read by ``ActivationRequestScan``, anything else by `JSONDecoder`.
    public static func decode(_ data: Data) throws(TallyError) -> (ActivationRequestBody, PolicyRequest) {
        guard data.count <= maximumBodyBytes else {
            throw TallyError(.malformedRequest, "the body is larger than \(maximumBodyBytes) bytes")
        }
        if let body = data.withUnsafeBytes({ ActivationRequestScan.body($0) }) { return (body, try body.validated()) }
        let body: ActivationRequestBody
        do {
            body = try JSONDecoder().decode(ActivationRequestBody.self, from: data)
        } catch let error as DecodingError {
            throw TallyError(.malformedRequest, ActivationRequestBody.describe(error))
        } catch {
            throw TallyError(.malformedRequest, "the body is not JSON")
        }
        return (body, try body.validated())
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
            return keys.isEmpty ? "the body" : keys
        }
        switch error {
        case let .keyNotFound(key, _): return "\(key.stringValue) is missing"
        case let .typeMismatch(type, context): return "\(path(context)) must be \(type == String.self ? "a string" : type == Bool.self ? "a boolean" : "a number")"
        case let .valueNotFound(_, context): return "\(path(context)) must not be null"
        case let .dataCorrupted(context):
            // A number too large for its field is reported here too, with its path.
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context)) is not a valid value"
        @unknown default: return "the body could not be read"
        }
    }
}

/// A successful HTTP answer of protocol 1: the signed response token (see ``ActivationAnswerBody`` for 2).
public struct ActivationResponseBody: Codable, Sendable, Equatable {
    public var response: String

    public init(response: String) { self.response = response }
}

/// An HTTP error answer (4xx/5xx): `{code, message}`, unsigned. Refusals of the decision table are never sent
/// this way: they are signed responses.
public struct ProtocolErrorBody: Codable, Sendable, Equatable {
    public var code: ResultCode
    public var message: String

    public init(code: ResultCode, message: String) {
        self.code = code
        self.message = message
    }
}

/// Paths of the activation port.
public enum ProtocolPaths {
    public static let activate = "/v1/activate"
}
