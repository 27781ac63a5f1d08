/// Why a token was refused. Each reason is tested; all map to ``ResultCode/tokenRejected`` for people.
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        case malformed
        case unsupportedAlgorithm
        case unsupportedKey
        case wrongType
        case unknownSigner
        case badSignature
        case expired
        case notYetValid
        case chainTooLong
        case missingCertificate
        case wrongSubject
        case wrongFingerprint
        case wrongSKU
        case issuerMismatch
        case outlivesCertificate
        /// A ticket valid for longer than 180 days after its `iat`.
        case lifetimeTooLong
        /// A ticket whose `iat` lies outside its host certificate's validity.
        case issuedOutsideCertificate
        case unsupportedVersion
        case criticalHeader
        case nonceMismatch
    }

    public var reason: Reason
    public var detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public static func == (lhs: TokenError, rhs: TokenError) -> Bool { lhs.reason == rhs.reason }

    public var description: String { "\(reason.rawValue): \(detail)" }

    /// The same refusal as an error with a result code, naming the token.
    public func tallyError(_ what: String) -> TallyError {
        TallyError(reason == .nonceMismatch ? .answerRejected : .tokenRejected, "\(what) rejected: \(detail)")
    }
}
