import Crypto
import Foundation

/// Signs requests and verifies answers with TSIG (RFC 8945).
///
/// The request MAC covers the message and the TSIG variables; the answer's MAC covers the request's MAC, the
/// answer without its TSIG record (with the original id and the additional count less one) and the answer's
/// TSIG variables. The time is an input, so tests can sign at a fixed time and check BADTIME handling.
public struct TSIGSigner: Sendable {
    /// RFC 8945 recommends 300 s.
    public static let defaultFudge: UInt16 = 300

    public var key: TSIGKey
    public var fudge: UInt16

    public init(key: TSIGKey, fudge: UInt16 = TSIGSigner.defaultFudge) {
        self.key = key
        self.fudge = fudge
    }

    /// The signed message on the wire and its MAC (needed to verify the answer).
    public func sign(_ message: DNSMessage, at now: Date) throws(DNSMessageError) -> (bytes: [UInt8], mac: [UInt8]) {
        let unsigned = try message.encoded()
        var tsig = TSIGData(algorithm: key.algorithm.name, timeSigned: TSIGSigner.seconds(now), fudge: fudge, mac: [],
                            originalID: message.header.id)
        tsig.mac = mac(over: unsigned + variables(tsig))
        let record = DNSResourceRecord(name: key.name, type: .tsig, class: .any, ttl: 0, data: .tsig(tsig))
        var bytes = unsigned + (try DNSMessage.encodeStandalone(record))
        let additionals = UInt16(message.additionals.count + 1)
        bytes[10] = UInt8(additionals >> 8)
        bytes[11] = UInt8(additionals & 0xFF)
        guard bytes.count <= DNSMessage.maximumSize else { throw DNSMessageError(.tooLarge, "the signed message is larger than 65535 bytes") }
        return (bytes, tsig.mac)
    }

    /// Checks the TSIG of an answer to a request signed with MAC `requestMAC`.
    ///
    /// - Returns: the answer, when its signature is good, its time within the fudge, and its TSIG error
    ///   NOERROR.
    /// - Throws: ``TSIGVerificationError`` saying which check failed; a server's BADSIG, BADKEY or BADTIME
    ///   comes back as ``TSIGVerificationError/Kind/serverRejected``.
    public func verify(answer bytes: [UInt8], requestMAC: [UInt8], at now: Date) throws(TSIGVerificationError) -> DNSMessage {
        let decoded: (message: DNSMessage, tsigOffset: Int?)
        do {
            decoded = try DNSMessage.decodeSigned(bytes)
        } catch {
            throw TSIGVerificationError(.malformed, "the answer is not a DNS message: \(error)")
        }
        guard let (record, tsig) = decoded.message.tsig, let tsigOffset = decoded.tsigOffset else {
            throw TSIGVerificationError(.unsigned, "the answer carries no TSIG record", message: decoded.message)
        }
        guard record.name == key.name, tsig.algorithm == key.algorithm.name else {
            throw TSIGVerificationError(.wrongKey, "the answer is signed with key \(record.name) (\(tsig.algorithm)), not \(key.name) (\(key.algorithm))",
                                        message: decoded.message)
        }
        // BADSIG and BADKEY answers carry no MAC (RFC 8945 §5.3.2): there is nothing to check but the code.
        if tsig.error != .noError, tsig.mac.isEmpty {
            throw TSIGVerificationError(.serverRejected, "the name server rejected the request's signature: \(tsig.error)",
                                        message: decoded.message, serverError: tsig.error)
        }
        guard tsig.mac.count == key.algorithm.macLength else {
            throw TSIGVerificationError(.badMAC, "the answer's MAC is \(tsig.mac.count) bytes, not \(key.algorithm.macLength)", message: decoded.message)
        }
        var signed = Array(bytes[0..<tsigOffset])
        signed[0] = UInt8(tsig.originalID >> 8)
        signed[1] = UInt8(tsig.originalID & 0xFF)
        let additionals = (UInt16(signed[10]) << 8 | UInt16(signed[11])) &- 1
        signed[10] = UInt8(additionals >> 8)
        signed[11] = UInt8(additionals & 0xFF)
        let digest = [UInt8(requestMAC.count >> 8), UInt8(requestMAC.count & 0xFF)] + requestMAC + signed + variables(tsig)
        guard isValid(mac: tsig.mac, over: digest) else {
            throw TSIGVerificationError(.badMAC, "the answer's TSIG signature does not verify with key \(key.name)", message: decoded.message)
        }
        if tsig.error != .noError {
            var serverTime: UInt64?
            if tsig.error == .badTime, tsig.otherData.count == 6 {
                serverTime = tsig.otherData.reduce(0) { $0 << 8 | UInt64($1) }
            }
            throw TSIGVerificationError(.serverRejected, "the name server rejected the request's signature: \(tsig.error)",
                                        message: decoded.message, serverError: tsig.error, serverTime: serverTime)
        }
        let local = TSIGSigner.seconds(now)
        let difference = local > tsig.timeSigned ? local - tsig.timeSigned : tsig.timeSigned - local
        guard difference <= UInt64(tsig.fudge) else {
            throw TSIGVerificationError(.badTime, "the answer was signed at \(tsig.timeSigned), \(difference) s from this host's clock (fudge \(tsig.fudge) s)",
                                        message: decoded.message, serverTime: tsig.timeSigned)
        }
        return decoded.message
    }

    /// The TSIG variables of RFC 8945 §4.3.3, names in canonical (lower-case, uncompressed) form.
    func variables(_ tsig: TSIGData) -> [UInt8] {
        var bytes: [UInt8] = []
        func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
        func name(_ name: DNSName) {
            for label in name.canonicalLabels { bytes.append(UInt8(label.count)); bytes += label }
            bytes.append(0)
        }
        name(key.name)
        u16(DNSClass.any.rawValue)
        bytes += [0, 0, 0, 0]
        name(tsig.algorithm)
        u16(UInt16(tsig.timeSigned >> 32))
        u16(UInt16((tsig.timeSigned >> 16) & 0xFFFF))
        u16(UInt16(tsig.timeSigned & 0xFFFF))
        u16(tsig.fudge)
        u16(tsig.error.rawValue)
        u16(UInt16(tsig.otherData.count))
        bytes += tsig.otherData
        return bytes
    }

    func mac(over bytes: [UInt8]) -> [UInt8] {
        let symmetric = SymmetricKey(data: key.secret)
        switch key.algorithm {
        case .hmacSHA384: return Array(HMAC<SHA384>.authenticationCode(for: bytes, using: symmetric))
        case .hmacSHA512: return Array(HMAC<SHA512>.authenticationCode(for: bytes, using: symmetric))
        default: return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: symmetric))
        }
    }

    func isValid(mac: [UInt8], over bytes: [UInt8]) -> Bool {
        let symmetric = SymmetricKey(data: key.secret)
        switch key.algorithm {
        case .hmacSHA384: return HMAC<SHA384>.isValidAuthenticationCode(mac, authenticating: bytes, using: symmetric)
        case .hmacSHA512: return HMAC<SHA512>.isValidAuthenticationCode(mac, authenticating: bytes, using: symmetric)
        default: return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: bytes, using: symmetric)
        }
    }

    static func seconds(_ date: Date) -> UInt64 {
        UInt64(max(0, min(date.timeIntervalSince1970.rounded(.down), Double(UInt64(1) << 48 - 1))))
    }
}

/// Why an answer's TSIG was not accepted.
public struct TSIGVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case malformed
        /// No TSIG record in the answer.
        case unsigned
        /// Signed with another key or algorithm.
        case wrongKey
        /// The MAC does not verify.
        case badMAC
        /// The answer's time is outside the fudge of this host's clock.
        case badTime
        /// The server refused the request's signature: `serverError` is BADSIG, BADKEY or BADTIME.
        case serverRejected
    }

    public var kind: Kind
    public var detail: String
    /// The answer, when it could be read (its response code still says something).
    public var message: DNSMessage?
    public var serverError: DNSResponseCode?
    /// With BADTIME: the server's clock, seconds since the epoch.
    public var serverTime: UInt64?

    public init(_ kind: Kind, _ detail: String, message: DNSMessage? = nil, serverError: DNSResponseCode? = nil, serverTime: UInt64? = nil) {
        self.kind = kind
        self.detail = detail
        self.message = message
        self.serverError = serverError
        self.serverTime = serverTime
    }

    public static func == (lhs: TSIGVerificationError, rhs: TSIGVerificationError) -> Bool {
        lhs.kind == rhs.kind && lhs.serverError == rhs.serverError
    }

    public var description: String { detail }
}
