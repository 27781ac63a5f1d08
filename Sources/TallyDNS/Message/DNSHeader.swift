/// The fixed 12-byte header of a message, without its four counts (the writer takes those from the sections).
///
/// The flags are kept as the 16 bits received, so a message read and written again is the same message;
/// the properties read and set single fields.
public struct DNSHeader: Sendable, Hashable {
    public var id: UInt16
    public var flags: UInt16

    public init(id: UInt16 = 0, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    /// A query header: opcode QUERY, recursion desired.
    public static func query(id: UInt16) -> DNSHeader {
        var header = DNSHeader(id: id)
        header.recursionDesired = true
        return header
    }

    private func bit(_ shift: UInt16) -> Bool { flags & (1 << shift) != 0 }
    private mutating func set(_ shift: UInt16, _ on: Bool) {
        flags = on ? flags | (1 << shift) : flags & ~(1 << shift)
    }

    /// QR: this is an answer.
    public var isResponse: Bool {
        get { bit(15) }
        set { set(15, newValue) }
    }

    public var opcode: DNSOpcode {
        get { DNSOpcode(UInt8((flags >> 11) & 0x0F)) }
        set { flags = (flags & ~(0x0F << 11)) | (UInt16(newValue.rawValue) << 11) }
    }

    /// AA: the answer comes from a server authoritative for the zone.
    public var isAuthoritative: Bool {
        get { bit(10) }
        set { set(10, newValue) }
    }

    /// TC: the answer did not fit; ask again over TCP.
    public var isTruncated: Bool {
        get { bit(9) }
        set { set(9, newValue) }
    }

    public var recursionDesired: Bool {
        get { bit(8) }
        set { set(8, newValue) }
    }

    public var recursionAvailable: Bool {
        get { bit(7) }
        set { set(7, newValue) }
    }

    public var authenticData: Bool {
        get { bit(5) }
        set { set(5, newValue) }
    }

    public var checkingDisabled: Bool {
        get { bit(4) }
        set { set(4, newValue) }
    }

    /// The low four bits of the response code; EDNS carries the upper eight.
    public var responseCodeLowBits: UInt8 {
        get { UInt8(flags & 0x0F) }
        set { flags = (flags & ~0x0F) | UInt16(newValue & 0x0F) }
    }
}
