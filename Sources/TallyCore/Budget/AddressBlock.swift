import Foundation

/// What limits per address count by: an IPv4 address by itself, an IPv6 address by its /64 (the block one
/// subscriber or one machine is given, so rotating through it is one address), an IPv4-mapped IPv6 address as
/// its IPv4 address. The address may carry a port in SwiftNIO's form (see ``init(address:)``); text that is no IP
/// address (a Unix socket's path, a name) is its own block.
public struct AddressBlock: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `192.0.2.7`, `2001:db8:1:2::/64`, or the text as given.
    public let description: String

    public init(address: String) {
        description = AddressBlock.block(of: address)
    }

    public static func < (lhs: AddressBlock, rhs: AddressBlock) -> Bool { lhs.description < rhs.description }

    private static func block(of address: String) -> String {
        var text = address
        // SwiftNIO's form of a peer, as the host stores it: `[IPv4]name/192.0.2.7:51234`, `[IPv6]name/2001:db8::1:51234`.
        if text.hasPrefix("[IPv4]") || text.hasPrefix("[IPv6]"), let slash = text.firstIndex(of: "/"),
           let colon = text.lastIndex(of: ":"), colon > slash {
            text = String(text[text.index(after: slash)..<colon])
        }
        if text.hasPrefix("["), let end = text.firstIndex(of: "]") { text = String(text[text.index(after: text.startIndex)..<end]) }
        // A zone (fe80::1%eth0) names the interface, not the address.
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        var v4 = in_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 { return text }
        var v6 = in6_addr()
        guard text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 else { return address }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        // The /64: the last 64 bits cleared, written as inet_ntop writes it (`2001:db8:1:2::`).
        var prefix = v6
        withUnsafeMutableBytes(of: &prefix) { raw in for index in 8..<16 { raw[index] = 0 } }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &prefix, &buffer, socklen_t(buffer.count)) != nil else { return address }
        let written = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: written, as: UTF8.self) + "/64"
    }
}
