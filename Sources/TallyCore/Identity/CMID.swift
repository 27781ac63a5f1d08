import Foundation

/// Client machine id: a lower-case UUID.
///
/// Tally makes version 7 UUIDs (RFC 9562): the first 48 bits are the creation time in milliseconds since 1970, so
/// a CMID carries the moment its grace period started. Editing that time in a client's state makes another CMID,
/// which the host counts and lists as a machine of its own. CMIDs made by Tally before this (random version 4
/// UUIDs) carry no time: ``creationTime(of:)`` is `nil` for them.
public enum CMID {
    /// A new CMID made at `now` (the client's trusted time): a UUIDv7 with 74 random bits.
    public static func generate(at now: Date = Date()) -> String {
        var bytes = withUnsafeBytes(of: UUID().uuid) { Array($0) }
        let milliseconds = UInt64(max(0, min(now.timeIntervalSince1970 * 1000, Double(UInt64(1) << 48 - 1))))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
        bytes[8] = 0x80 | (bytes[8] & 0x3F)  // RFC 9562 variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }

    /// A CMID must be a UUID; returns it lower-cased, or `nil`.
    public static func validate(_ text: String) -> String? {
        guard let uuid = UUID(uuidString: text) else { return nil }
        return uuid.uuidString.lowercased()
    }

    /// When a version 7 CMID was made (to the millisecond); `nil` for any other UUID (a CMID of an older Tally).
    public static func creationTime(of cmid: String) -> Date? {
        guard let uuid = UUID(uuidString: cmid) else { return nil }
        let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
        guard bytes[6] >> 4 == 7, bytes[8] >> 6 == 0b10 else { return nil }
        let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
