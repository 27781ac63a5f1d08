/// The error every Tally layer throws: a result code an administrator can search for, what went wrong this time,
/// and the remedy.
///
/// Two errors are equal when their codes are equal; the message says which instance of the condition happened.
public struct TallyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ResultCode
    /// What went wrong this time, in a sentence.
    public var message: String
    /// What to do; when not given, the code's catalog remedy.
    public var remedy: String
    /// A further hint for a likely mistake (for example a client key installed on a host).
    public var hint: String?

    public init(_ code: ResultCode, _ message: String, remedy: String? = nil, hint: String? = nil) {
        self.code = code
        self.message = message
        self.remedy = remedy ?? code.info?.remedy ?? "No remedy is known for this code."
        self.hint = hint
    }

    public static func == (lhs: TallyError, rhs: TallyError) -> Bool { lhs.code == rhs.code }

    public var description: String {
        var text = "\(code.hex): \(message)\nRemedy: \(remedy)"
        if let hint { text += "\nHint: \(hint)" }
        return text
    }
}
