/// One entry of the question section (in an UPDATE message: the zone section).
public struct DNSQuestion: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType
    public var `class`: DNSClass

    public init(name: DNSName, type: DNSRecordType, class: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.class = `class`
    }

    public var description: String { "\(name) \(self.class) \(type)" }
}
