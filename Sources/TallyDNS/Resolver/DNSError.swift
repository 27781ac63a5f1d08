/// Why a DNS exchange gave no usable answer.
///
/// Two errors are equal when their kinds are equal; `detail` names the server and what happened.
public struct DNSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// No name server is configured.
        case noNameServers
        /// No answer within the timeout, after every try.
        case timeout
        /// The server could not be reached: refused, unreachable, connection closed.
        case network
        /// The answer was not a well-formed DNS message, or not an answer to the question asked.
        case malformedAnswer
        /// The server answered with an error code such as SERVFAIL or REFUSED.
        case serverFailure
        /// A name server address that is not a numeric IPv4 or IPv6 address with an optional port.
        case badAddress
    }

    public var kind: Kind
    public var detail: String
    /// The response code, for ``Kind/serverFailure``.
    public var responseCode: DNSResponseCode?

    public init(_ kind: Kind, _ detail: String, responseCode: DNSResponseCode? = nil) {
        self.kind = kind
        self.detail = detail
        self.responseCode = responseCode
    }

    public static func == (lhs: DNSError, rhs: DNSError) -> Bool { lhs.kind == rhs.kind }

    public var description: String { detail }
}
