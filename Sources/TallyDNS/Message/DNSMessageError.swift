/// Why bytes are not a DNS message, or why a message cannot be written.
///
/// A hostile or broken answer always ends here: the reader validates every length, count and compression
/// pointer before it uses it, so bad input is an error, never a crash, a hang or a large allocation.
/// Two errors are equal when their kinds are equal; `detail` says what happened this time.
public struct DNSMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The data ends before a field, a name, a record or a counted section does.
        case truncated
        /// A compression pointer leads outside the message or into its header.
        case pointerOutOfRange
        /// A compression pointer points at or after itself.
        case forwardPointer
        /// A compression pointer goes back into the part of the name already read: following it would loop.
        case pointerLoop
        /// A label is longer than 63 bytes (only possible when written).
        case labelTooLong
        /// A name is longer than 255 bytes on the wire.
        case nameTooLong
        /// A label starts with the reserved bit patterns 01 or 10.
        case badLabelType
        /// A record's data does not have the shape its type requires, or does not fill its length exactly.
        case badRecordData
        /// Bytes follow the last record the header announced.
        case trailingData
        /// An OPT or TSIG record where it may not be, or more than one.
        case misplacedRecord
        /// The message or a field is larger than DNS allows.
        case tooLarge
        /// Text that is not a domain name.
        case badName
    }

    public var kind: Kind
    /// Where in the message the problem was found, when reading.
    public var offset: Int?
    public var detail: String

    public init(_ kind: Kind, _ detail: String, at offset: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.offset = offset
    }

    public static func == (lhs: DNSMessageError, rhs: DNSMessageError) -> Bool { lhs.kind == rhs.kind }

    public var description: String {
        offset.map { "\(detail) (at byte \($0))" } ?? detail
    }
}
